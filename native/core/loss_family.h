// Which engine runs a loss functor, and the two functor shapes the engines know.
#pragma once

namespace segloss {

enum class LossFamily : int {
  // Value and gradient at a pixel depend on that pixel only, through its true class t:
  // term = f(p_t, log p_t) (+ smoothing · Σ_c u_c log p_c), weighted by a per-class weight w_t.
  Pixel,
  // Per-(image, class) moments of p and the one-hot g (region_moments.h) → a scalar head → the
  // per-pixel gradient, which is linear in those moments' derivatives.
  Region,
  // The value depends on the whole batch of probabilities at once (a selection, a sort): the
  // engine's first pass writes every pixel's activation (special_batch.h), the loss computes its
  // value and u = p · d value / d p from them, and the gradient pass applies the Jacobian.
  Special,
};

}  // namespace segloss
