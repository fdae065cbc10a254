// sensitivity-specificity (spec 12, Brosch 2015): mean over classes of
//   r · Σ(g − p)² g / (Σg + s) + (1 − r) · Σ(g − p)² (1 − g) / (Σ(1 − g) + s)
// over valid pixels, r = 0.05. Region family (region_moments.h), with hard labels:
//   Σ(g − p)² g = G − 2 PG + P2G,  Σ(g − p)² (1 − g) = P2 − P2G,  Σ(1 − g) = N − G,
// N the valid pixels (Σ over classes of G). perImage: per (image, class), averaged over images;
// otherwise the sums are pooled over the batch. A zero denominator (s = 0, an empty side) makes
// its part 0 (its numerator is 0 too).
// Preset (TypeScript): odyssey — SegLossOdyssey SSLoss: r 0.1, smooth 1, perImage.
#pragma once

#include "../host_device.h"
#include "../loss_family.h"
#include "../option_fields.h"
#include "../region_moments.h"
#include "region_classes.h"

namespace segloss {

struct SensitivitySpecificityOptions {
  bool perImage = false;          // per-image sums vs batch-pooled sums
  bool includeBackground = true;  // keep class 0
  double smooth = 1e-5;           // s, added to both denominators
  double r = 0.05;                // r ∈ [0, 1], the weight of the error on the class's own pixels

  static constexpr auto fields() {
    return std::tuple{optionField("perImage", &SensitivitySpecificityOptions::perImage),
                      optionField("includeBackground", &SensitivitySpecificityOptions::includeBackground),
                      optionField("smooth", &SensitivitySpecificityOptions::smooth),
                      optionField("r", &SensitivitySpecificityOptions::r)};
  }
  // The broken invariant, or nullptr.
  const char* invalid() const {
    if (!(smooth >= 0.0)) return "smooth is negative";
    if (!(r >= 0.0 && r <= 1.0)) return "r is outside [0, 1]";
    return nullptr;
  }
};

struct SensitivitySpecificityLoss : RegionMomentsLoss<SensitivitySpecificityLoss> {
  static constexpr LossFamily kFamily = LossFamily::Region;
  static constexpr const char* kId = "sensitivity-specificity";
  using Options = SensitivitySpecificityOptions;
  SensitivitySpecificityOptions options;

  SensitivitySpecificityLoss() = default;
  SensitivitySpecificityLoss(const Options& o, const LossContext&) : options(o) {}

  SEGLOSS_HD MomentMask moments() const {
    return momentBit(kMomentPG) | momentBit(kMomentG) | momentBit(kMomentP2) | momentBit(kMomentP2G);
  }

  // moments, dmoments: [B, K, kMomentCount]; dmoments arrives zeroed.
  SEGLOSS_HD double head(const double* moments, double* dmoments, int64_t batch, int classes) const {
    return meanClassTerms(*this, moments, dmoments, batch, classes, options.perImage, options.includeBackground);
  }

  // One class: the weighted sensitivity and specificity errors and their derivatives.
  SEGLOSS_HD double operator()(const PooledMoments& s, double* d) const {
    const double G = s.m[kMomentG], PG = s.m[kMomentPG], P2 = s.m[kMomentP2], P2G = s.m[kMomentP2G];
    const double inside = G + options.smooth;              // Σg + s
    const double outside = s.valid - G + options.smooth;   // Σ(1 − g) + s
    const double wIn = inside > 0.0 ? options.r / inside : 0.0;
    const double wOut = outside > 0.0 ? (1.0 - options.r) / outside : 0.0;
    d[kMomentPG] = -2.0 * wIn;
    d[kMomentP2G] = wIn - wOut;
    d[kMomentP2] = wOut;
    return wIn * (G - 2.0 * PG + P2G) + wOut * (P2 - P2G);
  }
};

}  // namespace segloss
