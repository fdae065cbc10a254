// tversky (spec 10): 1 − mean_c TI_c, TI_c = (I_c + s) / (I_c + α FP_c + β FN_c + s), with
// FP_c = P_c − I_c (weighed by α) and FN_c = G_c − I_c (weighed by β) over valid pixels (Salehi
// 2017; MONAI TverskyLoss). Region family (region_moments.h): I = PG, P = P, G = G.
// perImage: ratios per (image, class), averaged over images and classes; otherwise pooled sums.
#pragma once

#include "../host_device.h"
#include "../loss_family.h"
#include "../option_fields.h"
#include "../region_moments.h"
#include "region_classes.h"

namespace segloss {

struct TverskyOptions {
  bool perImage = false;          // per-image ratios (MONAI) vs batch-pooled sums
  bool includeBackground = true;  // keep class 0
  double smooth = 1e-5;           // s, added to numerator and denominator
  double alpha = 0.3;             // α ≥ 0, weight of the false positives
  double beta = 0.7;              // β ≥ 0, weight of the false negatives (α + β > 0)

  static constexpr auto fields() {
    return std::tuple{optionField("perImage", &TverskyOptions::perImage),
                      optionField("includeBackground", &TverskyOptions::includeBackground),
                      optionField("smooth", &TverskyOptions::smooth), optionField("alpha", &TverskyOptions::alpha),
                      optionField("beta", &TverskyOptions::beta)};
  }
  // The broken invariant, or nullptr.
  const char* invalid() const {
    if (!(smooth >= 0.0)) return "smooth is negative";
    if (!(alpha >= 0.0 && beta >= 0.0 && alpha + beta > 0.0)) return "alpha or beta is negative, or alpha + beta = 0";
    return nullptr;
  }
};

struct TverskyLoss : RegionMomentsLoss<TverskyLoss> {
  static constexpr LossFamily kFamily = LossFamily::Region;
  static constexpr const char* kId = "tversky";
  using Options = TverskyOptions;
  TverskyOptions options;

  TverskyLoss() = default;
  TverskyLoss(const Options& o, const LossContext&) : options(o) {}

  SEGLOSS_HD MomentMask moments() const { return momentBit(kMomentPG) | momentBit(kMomentG) | momentBit(kMomentP); }

  // moments, dmoments: [B, K, kMomentCount]; dmoments arrives zeroed.
  SEGLOSS_HD double head(const double* moments, double* dmoments, int64_t batch, int classes) const {
    return meanClassTerms(*this, moments, dmoments, batch, classes, options.perImage, options.includeBackground);
  }

  // One class: 1 − TI and its derivatives.
  SEGLOSS_HD double operator()(const PooledMoments& s, double* d) const {
    double dI = 0.0, dP = 0.0;
    const double index = tverskyIndex(s.m[kMomentPG], s.m[kMomentP], s.m[kMomentG], options.smooth, options.alpha,
                                      options.beta, dI, dP);
    d[kMomentPG] = -dI;
    d[kMomentP] = -dP;
    return 1.0 - index;
  }
};

}  // namespace segloss
