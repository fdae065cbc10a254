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
  // Region moments plus the per-image confusion moments C[a][c] = Σ_{t_i = a} p_ic
  // (confusion_moments.h): the per-pixel gradient is a row of a K×K table chosen by the label.
  // CPU engine only (the torch op runs these terms on the CPU for CUDA tensors).
  Confusion,
  // Whole image planes at once (rmi: pooling, R×R neighbourhoods, per-plane covariances and a
  // Cholesky factorisation): the functor's runCpu does the work; CPU engine only.
  Planar,
  // A term per (pixel, class) that multiplies the prediction with a per-pixel map computed from the
  // target (and, for Hausdorff-DT, the thresholded prediction) on the CPU (map_terms.h).
  Map,
  // Losses computed on the whole batch by their own CPU code after the tile passes, with a cached
  // target map (active boundary: a data-dependent boundary search and per-pixel direction targets).
  BatchMap,
};

}  // namespace segloss
