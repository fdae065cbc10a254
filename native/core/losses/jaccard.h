// jaccard (spec 8): 1 − mean_c (I_c + s) / (P_c + G_c − I_c + s), region family (region_moments.h).
//   I_c = PG, P_c = P (P2 when squared), G_c = G over valid pixels; the Tversky index with α = β = 1.
// perImage: ratios per (image, class), averaged over images and classes; otherwise the sums are
// pooled over the batch first. includeBackground: keep class 0.
// Preset (TypeScript, src/losses/jaccard.ts): monai — DiceLoss(jaccard=True): perImage, and its
// (2I + s) / (2(P + G − I) + s) is ours with smooth s/2, so the core receives s/2.
#pragma once

#include "../host_device.h"
#include "../loss_family.h"
#include "../option_fields.h"
#include "../region_moments.h"
#include "region_classes.h"

namespace segloss {

struct JaccardOptions {
  bool perImage = false;          // per-image ratios (MONAI) vs batch-pooled sums (survey code)
  bool includeBackground = true;  // keep class 0
  double smooth = 1e-5;           // s, added to numerator and denominator
  bool squared = false;           // Σp² in place of Σp (MONAI squared_pred)

  static constexpr auto fields() {
    return std::tuple{optionField("perImage", &JaccardOptions::perImage),
                      optionField("includeBackground", &JaccardOptions::includeBackground),
                      optionField("smooth", &JaccardOptions::smooth),
                      optionField("squared", &JaccardOptions::squared)};
  }
  // The broken invariant, or nullptr.
  const char* invalid() const { return smooth >= 0.0 ? nullptr : "smooth is negative"; }
};

struct JaccardLoss : RegionMomentsLoss<JaccardLoss> {
  static constexpr LossFamily kFamily = LossFamily::Region;
  static constexpr const char* kId = "jaccard";
  using Options = JaccardOptions;
  JaccardOptions options;

  JaccardLoss() = default;
  JaccardLoss(const Options& o, const LossContext&) : options(o) {}

  SEGLOSS_HD MomentMask moments() const {
    return momentBit(kMomentPG) | momentBit(kMomentG) | momentBit(options.squared ? kMomentP2 : kMomentP);
  }

  // moments, dmoments: [B, K, kMomentCount]; dmoments arrives zeroed.
  SEGLOSS_HD double head(const double* moments, double* dmoments, int64_t batch, int classes) const {
    return meanClassTerms(*this, moments, dmoments, batch, classes, options.perImage, options.includeBackground);
  }

  // One class: 1 − J and its derivatives.
  SEGLOSS_HD double operator()(const PooledMoments& s, double* d) const {
    const int pMoment = options.squared ? kMomentP2 : kMomentP;
    double dI = 0.0, dP = 0.0;
    const double index = tverskyIndex(s.m[kMomentPG], s.m[pMoment], s.m[kMomentG], options.smooth, 1.0, 1.0, dI, dP);
    d[kMomentPG] = -dI;
    d[pMoment] = -dP;
    return 1.0 - index;
  }
};

}  // namespace segloss
