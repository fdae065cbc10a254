// boundary-dou (spec 21, Sun et al. 2023, Boundary difference over union): per class c, pooled over
// the batch, with Z = Σ v p², Y = Σ g, I = Σ p g (region moments P2, G, PG) and C_b the class's
// boundary pixels of the target (pixels of the class with a face neighbour outside it or on the
// array's edge; TargetMapKind::InnerBoundaryCount, cached per target):
//   α_c = min(2·(1 − (C_b + s)/(Y + s)) − 1, 0.8),  s = 1e-5
//   loss_c = (Z + Y − 2I + s) / (Z + Y − (1 + α_c)·I + s)
// value = mean over all K classes. Z + Y ≥ 2I and α ≤ 0.8 keep the denominator ≥ 0.2·I + s > 0.
// Region family whose head also reads the per-(image, class) boundary counts (kTargetCounts), which
// the CPU driver binds (losses.cpp). Reference: sunfan-bvb BoundaryDoULoss.
#pragma once

#include <cstdint>

#include "../host_device.h"
#include "../loss_family.h"
#include "../option_fields.h"
#include "../region_moments.h"
#include "../target_map_kind.h"

namespace segloss {

struct BoundaryDouOptions {
  static constexpr auto fields() { return std::tuple{}; }
  const char* invalid() const { return nullptr; }
};

struct BoundaryDouLoss : RegionMomentsLoss<BoundaryDouLoss> {
  static constexpr LossFamily kFamily = LossFamily::Region;
  static constexpr const char* kId = "boundary-dou";
  static constexpr TargetMapKind kTargetCounts = TargetMapKind::InnerBoundaryCount;  // [B, K], bound by the driver
  static constexpr double kSmooth = 1e-5;
  static constexpr double kMaxAlpha = 0.8;
  using Options = BoundaryDouOptions;
  const double* targetCounts = nullptr;  // [B, K] boundary pixels of each image and class

  BoundaryDouLoss() = default;
  BoundaryDouLoss(const Options&, const LossContext&) {}

  SEGLOSS_HD MomentMask moments() const { return momentBit(kMomentP2) | momentBit(kMomentPG) | momentBit(kMomentG); }

  // moments, dmoments: [B, K, kMomentCount], batch-pooled per class; dmoments arrives zeroed.
  SEGLOSS_HD double head(const double* moments, double* dmoments, int64_t batch, int classes) const {
    double value = 0.0;
    const double weight = 1.0 / classes;
    for (int c = 0; c < classes; ++c) {
      double Z = 0.0, Y = 0.0, I = 0.0, boundary = 0.0;
      for (int64_t b = 0; b < batch; ++b) {
        const double* m = moments + (b * classes + c) * kMomentCount;
        Z += m[kMomentP2];
        Y += m[kMomentG];
        I += m[kMomentPG];
        boundary += targetCounts ? targetCounts[b * classes + c] : 0.0;
      }
      double alpha = 2.0 * (1.0 - (boundary + kSmooth) / (Y + kSmooth)) - 1.0;
      alpha = alpha < kMaxAlpha ? alpha : kMaxAlpha;
      const double num = Z + Y - 2.0 * I + kSmooth;
      const double den = Z + Y - (1.0 + alpha) * I + kSmooth;
      value += weight * num / den;
      const double dZ = weight * (den - num) / (den * den);
      const double dI = weight * (-2.0 * den + (1.0 + alpha) * num) / (den * den);
      for (int64_t b = 0; b < batch; ++b) {
        double* d = dmoments + (b * classes + c) * kMomentCount;
        d[kMomentP2] += dZ;
        d[kMomentPG] += dI;
      }
    }
    return value;
  }
};

}  // namespace segloss
