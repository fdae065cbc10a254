// The loop region heads share (region_moments.h): pool the moments of each (group, class) — a group
// is one image when perImage, else the whole batch — call a per-class term on them, and write its
// derivatives back to every image of the group. Also the Tversky index, which Jaccard (α = β = 1),
// Tversky and focal Tversky are written on.
#pragma once

#include <cstdint>

#include "../host_device.h"
#include "../region_moments.h"

namespace segloss {

// The pooled moments of one (group, class), and the group's valid pixel count N = Σ_c G_c (every
// valid pixel has exactly one class, so no extra moment is needed for it).
struct PooledMoments {
  double m[kMomentCount];  // P, PG, G, P2, P2G summed over the group's images
  double valid;            // N, the group's valid pixels
};

// Mean over groups and classes c ≥ first of term(pooled, dpooled): term returns its value and
// writes d term / d moment into dpooled[kMomentCount] (arriving zeroed). The derivatives, times the
// mean's weight, are added to dmoments of every image of the group. moments, dmoments: [B, K, kMomentCount].
template <class Term>
SEGLOSS_HD SEGLOSS_INLINE double meanClassTerms(const Term& term, const double* moments, double* dmoments, int64_t batch, int classes,
                                                bool perImage, bool includeBackground) {
  const int first = includeBackground ? 0 : 1;
  const int64_t groups = perImage ? batch : 1;
  const int64_t perGroup = perImage ? 1 : batch;
  const double weight = 1.0 / (static_cast<double>(groups) * (classes - first));
  double value = 0.0;
  for (int64_t grp = 0; grp < groups; ++grp) {
    const int64_t b0 = grp * perGroup, b1 = b0 + perGroup;
    double valid = 0.0;
    for (int64_t b = b0; b < b1; ++b) {
      for (int c = 0; c < classes; ++c) valid += moments[(b * classes + c) * kMomentCount + kMomentG];
    }
    for (int c = first; c < classes; ++c) {
      PooledMoments pooled{{0.0, 0.0, 0.0, 0.0, 0.0}, valid};
      for (int64_t b = b0; b < b1; ++b) {
        const double* s = moments + (b * classes + c) * kMomentCount;
        for (int k = 0; k < kMomentCount; ++k) pooled.m[k] += s[k];
      }
      double dpooled[kMomentCount] = {0.0, 0.0, 0.0, 0.0, 0.0};
      value += weight * term(pooled, dpooled);
      for (int64_t b = b0; b < b1; ++b) {
        double* d = dmoments + (b * classes + c) * kMomentCount;
        for (int k = 0; k < kMomentCount; ++k) d[k] += weight * dpooled[k];
      }
    }
  }
  return value;
}

// Multiplies every entry of dmoments [B, K, kMomentCount] by factor (the chain rule of an outer
// function of a head's value).
SEGLOSS_HD SEGLOSS_INLINE void scaleMoments(double* dmoments, int64_t batch, int classes, double factor) {
  const int64_t n = batch * classes * kMomentCount;
  for (int64_t k = 0; k < n; ++k) dmoments[k] *= factor;
}

// The Tversky index TI = (I + s) / (I + α (P − I) + β (G − I) + s) and its derivatives by I and P
// (G is a constant of the target). α = β = 1 is the Jaccard index. A zero denominator (no
// prediction, no target, s = 0) is perfect agreement: TI = 1, zero derivatives.
SEGLOSS_HD SEGLOSS_INLINE double tverskyIndex(double I, double P, double G, double s, double alpha, double beta,
                                              double& dI, double& dP) {
  const double num = I + s;
  const double den = I + alpha * (P - I) + beta * (G - I) + s;
  if (!(den > 0.0)) {
    dI = dP = 0.0;
    return 1.0;
  }
  const double index = num / den;
  dI = (1.0 - index * (1.0 - alpha - beta)) / den;
  dP = -index * alpha / den;
  return index;
}

}  // namespace segloss
