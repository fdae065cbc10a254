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
  // A term per (pixel, class) that multiplies the prediction with a per-pixel map computed from the
  // target (and, for Hausdorff-DT, the thresholded prediction) on the CPU (map_terms.h).
  Map,
  // Losses computed on the whole batch by their own CPU code after the tile passes (active
  // boundary: a data-dependent boundary search and per-pixel direction targets).
  Special,
};

}  // namespace segloss
