// focal-tversky (spec 11, Abraham 2019): mean_c (1 − TI_c)^(1/γ), TI_c the Tversky index of
// tversky.h (α on false positives, β on false negatives), γ = 4/3 (exponent 0.75). Region family.
// exponentAfterMean (preset odyssey, SegLossOdyssey FocalTversky_loss and smp): (1 − mean_c TI_c)^(1/γ).
// At 1 − TI = 0 with 1/γ < 1 the derivative of x^(1/γ) is infinite; the subgradient 0 is used there
// (a perfect class gets no gradient), so values and gradients stay finite.
#pragma once

#include <cmath>

#include "../host_device.h"
#include "../loss_family.h"
#include "../option_fields.h"
#include "../region_moments.h"
#include "region_classes.h"

namespace segloss {

struct FocalTverskyOptions {
  bool perImage = false;           // per-image ratios vs batch-pooled sums
  bool includeBackground = true;   // keep class 0
  double smooth = 1e-5;            // s, added to numerator and denominator
  double alpha = 0.3;              // α ≥ 0, weight of the false positives
  double beta = 0.7;               // β ≥ 0, weight of the false negatives (α + β > 0)
  double gamma = 4.0 / 3.0;        // γ > 0; the exponent is 1/γ
  bool exponentAfterMean = false;  // (1 − mean TI)^(1/γ) (SegLossOdyssey) instead of mean (1 − TI)^(1/γ)

  static constexpr auto fields() {
    return std::tuple{optionField("perImage", &FocalTverskyOptions::perImage),
                      optionField("includeBackground", &FocalTverskyOptions::includeBackground),
                      optionField("smooth", &FocalTverskyOptions::smooth),
                      optionField("alpha", &FocalTverskyOptions::alpha), optionField("beta", &FocalTverskyOptions::beta),
                      optionField("gamma", &FocalTverskyOptions::gamma),
                      optionField("exponentAfterMean", &FocalTverskyOptions::exponentAfterMean)};
  }
  // The broken invariant, or nullptr.
  const char* invalid() const {
    if (!(smooth >= 0.0)) return "smooth is negative";
    if (!(alpha >= 0.0 && beta >= 0.0 && alpha + beta > 0.0)) return "alpha or beta is negative, or alpha + beta = 0";
    if (!(gamma > 0.0) || gamma == HUGE_VAL) return "gamma is not a finite number > 0";
    return nullptr;
  }
};

struct FocalTverskyLoss : RegionMomentsLoss<FocalTverskyLoss> {
  static constexpr LossFamily kFamily = LossFamily::Region;
  static constexpr const char* kId = "focal-tversky";
  using Options = FocalTverskyOptions;
  FocalTverskyOptions options;

  FocalTverskyLoss() = default;
  FocalTverskyLoss(const Options& o, const LossContext&) : options(o) {}

  SEGLOSS_HD MomentMask moments() const { return momentBit(kMomentPG) | momentBit(kMomentG) | momentBit(kMomentP); }

  // moments, dmoments: [B, K, kMomentCount]; dmoments arrives zeroed.
  SEGLOSS_HD double head(const double* moments, double* dmoments, int64_t batch, int classes) const {
    const double mean = meanClassTerms(*this, moments, dmoments, batch, classes, options.perImage, options.includeBackground);
    if (!options.exponentAfterMean) return mean;
    double slope = 0.0;
    const double value = focalPower(mean, slope);
    scaleMoments(dmoments, batch, classes, slope);
    return value;
  }

  // One class: (1 − TI)^(1/γ), or 1 − TI when the exponent comes after the mean; its derivatives.
  SEGLOSS_HD double operator()(const PooledMoments& s, double* d) const {
    double dI = 0.0, dP = 0.0;
    const double index = tverskyIndex(s.m[kMomentPG], s.m[kMomentP], s.m[kMomentG], options.smooth, options.alpha,
                                      options.beta, dI, dP);
    const double base = 1.0 - index;
    double slope = 1.0;  // d term / d (1 − TI)
    const double term = options.exponentAfterMean ? base : focalPower(base, slope);
    d[kMomentPG] = -slope * dI;
    d[kMomentP] = -slope * dP;
    return term;
  }

  // x^(1/γ) for x ≥ 0 (rounding below 0 counts as 0) and its slope, 0 at x = 0.
  SEGLOSS_HD double focalPower(double x, double& slope) const {
    if (!(x > 0.0)) {
      slope = 0.0;
      return 0.0;
    }
    const double exponent = 1.0 / options.gamma;
    const double value = ::pow(x, exponent);
    slope = exponent * value / x;
    return value;
  }
};

}  // namespace segloss
