// active-boundary (spec 18, Wang et al. 2022, Active Boundary Loss), as wangchi95 `ABL` computes it
// with its defaults (softmax logits [B, C, H, W]; volumes run as B·D slices; other activations use
// their class probabilities in the same formulas):
//  1. predicted boundary: kl(i, j) = KL(p_ij ‖ p_{i+1,j}) + KL(p_ij ‖ p_{i,j+1}) (0 past the last
//     row / column); the threshold ε starts at 1e-5 and grows ×1.2 while more than
//     maxBoundaryRatio·H·W pixels of the batch have kl > ε; the pixels with kl > ε, dilated 3×3;
//  2. the target's distance D to its boundary (labels differing from the pixel below or to the
//     right, and ignored pixels): ⌊edt − 1⌋ off the boundary, 0 on it (ABL's int32 map;
//     TargetMapKind::ActiveBoundaryDistance, cached per target);
//  3. at each predicted boundary pixel, the direction among the 8 neighbours of the smallest D
//     (D = 1e5 past the image; the first in ABL's order, the pixel itself last — pixels whose own D
//     is the smallest are skipped) is the class of an 8-way cross-entropy with label smoothing ε_ls
//     (targets 1 − ε_ls and ε_ls / 8) whose logits are KL(q_n ‖ p) for the 8 neighbours n
//     (q_n constant: ABL detaches them; neighbours past the edge are the edge pixel's);
//  4. value = mean over those pixels of CE · min(D, maxClipDistance) / maxClipDistance.
// No predicted boundary pixel (ABL returns None) or no kept pixel (ABL's empty mean, NaN): 0, with
// a zero gradient. BatchMap family: the CPU driver runs it on the whole batch (losses.cpp).
#pragma once

#include <cmath>
#include <cstdint>

#include "../loss_family.h"
#include "../option_fields.h"
#include "../target_map_kind.h"

namespace segloss {

struct LossTensors;
struct LossGradient;

struct ActiveBoundaryOptions {
  double maxBoundaryRatio = 0.01;  // the predicted boundary's budget, a fraction of H·W
  double labelSmoothing = 0.2;     // ε_ls of the 8-way cross-entropy
  double maxClipDistance = 20.0;   // distance weight min(D, clip) / clip

  static constexpr auto fields() {
    return std::tuple{optionField("maxBoundaryRatio", &ActiveBoundaryOptions::maxBoundaryRatio),
                      optionField("labelSmoothing", &ActiveBoundaryOptions::labelSmoothing),
                      optionField("maxClipDistance", &ActiveBoundaryOptions::maxClipDistance)};
  }
  const char* invalid() const {
    if (!(maxBoundaryRatio > 0.0 && maxBoundaryRatio <= 1.0)) return "maxBoundaryRatio is outside (0, 1]";
    if (!(labelSmoothing >= 0.0 && labelSmoothing <= 1.0)) return "labelSmoothing is outside [0, 1]";
    if (!(maxClipDistance > 0.0) || maxClipDistance == HUGE_VAL) return "maxClipDistance is not a finite number > 0";
    return nullptr;
  }
};

struct ActiveBoundaryLoss {
  static constexpr LossFamily kFamily = LossFamily::BatchMap;
  static constexpr const char* kId = "active-boundary";
  static constexpr TargetMapKind kTargetMap = TargetMapKind::ActiveBoundaryDistance;
  using Options = ActiveBoundaryOptions;
  ActiveBoundaryOptions options;

  ActiveBoundaryLoss() = default;
  ActiveBoundaryLoss(const Options& o, const LossContext&) : options(o) {}

  // Throws LossArgumentError unless the spatial shape is given (2-D, or 3-D as slices).
  void checkInput(const LossTensors& tensors) const;

  // The value on the whole batch; with grad, adds grad->scale · weight · d value / d logits to
  // grad->data (which the caller has written or zeroed). distance: [B] → image b's D [H·W].
  double run(const LossTensors& tensors, const double* const* distance, double weight, const LossGradient* grad) const;
};

}  // namespace segloss
