// distance-map-ce (spec 4, Calivá et al. 2019): cross-entropy weighted per pixel by 1 + Φ, Φ ∈ [0, 1]
// large next to the target's foreground/background boundary, averaged over valid pixels:
//   value = Σ_valid (1 + Φ_i)(−log p_{t_i}) / N_valid
// Φ from the foreground mask (labels 1..K−1, as SegLossOdyssey's `target > 0.5`), per image and
// side: (max d − d) / max d, d the distance to the other side (spec; TargetMapKind::ForegroundPenalty);
// preset odyssey: (max d − d) / (max d − min d), as its compute_edts_forPenalizedLoss computes it.
// Map family, TrueClassLog term. Reference: SegLossOdyssey DisPenalizedCE (weighted mean, see docs).
#pragma once

#include "../host_device.h"
#include "../loss_family.h"
#include "../map_terms.h"
#include "../option_fields.h"

namespace segloss {

struct DistanceMapCeOptions {
  bool odysseyPenalty = false;  // Φ normalised by (max d − min d) per side, as SegLossOdyssey (preset odyssey)

  static constexpr auto fields() {
    return std::tuple{optionField("odysseyPenalty", &DistanceMapCeOptions::odysseyPenalty)};
  }
  const char* invalid() const { return nullptr; }
};

struct DistanceMapCeLoss {
  static constexpr LossFamily kFamily = LossFamily::Map;
  static constexpr const char* kId = "distance-map-ce";
  using Options = DistanceMapCeOptions;
  DistanceMapCeOptions options;

  DistanceMapCeLoss() = default;
  DistanceMapCeLoss(const Options& o, const LossContext&) : options(o) {}

  MapTermPlan plan() const {
    MapTermPlan p;
    p.kind = MapTermKind::TrueClassLog;
    p.targetMap = options.odysseyPenalty ? TargetMapKind::ForegroundPenaltyOdyssey : TargetMapKind::ForegroundPenalty;
    p.mapOffset = 1.0;
    return p;
  }
};

}  // namespace segloss
