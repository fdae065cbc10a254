// robust-t (spec 14, Gonzalez-Jimenez et al. 2023, "Robust T-Loss for Medical Image
// Segmentation"): the negative log-likelihood of the residuals δ_i = p_ic − g_ic of an image's D
// valid pixels under a multivariate Student-t with ν = e^θ + ε degrees of freedom (θ learned,
// ε = 1e-8) and the reference's fixed diagonal scale λ = 1:
//   L = −lnΓ((ν + D)/2) + lnΓ(ν/2) − ½ D (λ + ε) + (D/2) ln π + (D/2)(θ + ε)
//       + ((ν + D)/2) ln(1 + S/ν),            S = e^(λ+ε) Σ_i δ_i²
// per (image, foreground class c ≥ 1), mean over images and foreground classes (C = 2: the
// reference's binary loss on the class-1 probability). Region family: Σ_i δ_i² = P2 − 2 PG + G.
//   dL/dS = (ν + D) / (2 (ν + S)),   dL/dp_i = dL/dS · e^(λ+ε) · 2 δ_i
//   dL/dθ = e^θ · [½ ψ(ν/2) − ½ ψ((ν + D)/2) + ½ ln(1 + S/ν) − (ν + D) S / (2 ν (ν + S))] + D/2
// θ is learned state (kLearnedState): stateGradient returns dL/dθ. Values are O(D) and may be
// negative. An image without valid pixels (D = 0) contributes L = 0.
// Reference: Digital-Dermatology/t-loss TLoss (it fixes D from a configured square image size;
// here D is each image's own valid pixel count).
#pragma once

#include <cmath>
#include <cstdint>

#include "../host_device.h"
#include "../loss_family.h"
#include "../option_fields.h"
#include "../region_moments.h"
#include "../special_functions.h"

namespace segloss {

struct RobustTOptions {
  double nuParameter = 1.0;  // θ: ν = e^θ + 1e-8 (learned; the loss returns dL/dθ)

  static constexpr auto fields() { return std::tuple{optionField("nuParameter", &RobustTOptions::nuParameter)}; }
  // The broken invariant, or nullptr (e^θ must stay a finite double).
  const char* invalid() const {
    if (!std::isfinite(nuParameter) || nuParameter > 700.0) return "nuParameter is not a finite number ≤ 700";
    return nullptr;
  }
};

struct RobustTLoss : RegionMomentsLoss<RobustTLoss> {
  static constexpr LossFamily kFamily = LossFamily::Region;
  static constexpr const char* kId = "robust-t";
  static constexpr bool kLearnedState = true;  // θ; see stateGradient
  using Options = RobustTOptions;
  static constexpr double kEpsilon = 1e-8;
  static constexpr double kLambda = 1.0;
  double theta = 1.0;

  RobustTLoss() = default;
  RobustTLoss(const Options& o, const LossContext&) : theta(o.nuParameter) {}

  SEGLOSS_HD MomentMask moments() const { return momentBit(kMomentPG) | momentBit(kMomentG) | momentBit(kMomentP2); }

  // moments, dmoments: [B, K, kMomentCount]; dmoments arrives zeroed.
  SEGLOSS_HD double head(const double* moments, double* dmoments, int64_t batch, int classes) const {
    const double nu = ::exp(theta) + kEpsilon;
    const double scale = ::exp(kLambda + kEpsilon);
    const double weight = termWeight(batch, classes);
    double value = 0.0;
    for (int64_t b = 0; b < batch; ++b) {
      const double D = validPixels(moments, b, classes);
      if (!(D > 0.0)) continue;
      const double constant = -logGamma(0.5 * (nu + D)) + logGamma(0.5 * nu) - 0.5 * D * (kLambda + kEpsilon) +
                              0.5 * D * 1.14472988584940017414 /* ln π */ + 0.5 * D * (theta + kEpsilon);
      for (int c = 1; c < classes; ++c) {
        const double* s = moments + (b * classes + c) * kMomentCount;
        double* d = dmoments + (b * classes + c) * kMomentCount;
        const double S = scale * squaredResiduals(s);
        value += weight * (constant + 0.5 * (nu + D) * ::log1p(S / nu));
        const double dS = weight * 0.5 * (nu + D) / (nu + S);  // dL/dS, and S = scale (P2 − 2 PG + G)
        d[kMomentP2] = dS * scale;
        d[kMomentPG] = -2.0 * dS * scale;
      }
    }
    return value;
  }

  // d value / d θ from the same moments.
  SEGLOSS_HD double stateGradient(const double* moments, int64_t batch, int classes) const {
    const double e = ::exp(theta);
    const double nu = e + kEpsilon;
    const double scale = ::exp(kLambda + kEpsilon);
    const double weight = termWeight(batch, classes);
    double grad = 0.0;
    for (int64_t b = 0; b < batch; ++b) {
      const double D = validPixels(moments, b, classes);
      if (!(D > 0.0)) continue;
      const double gammaPart = 0.5 * digamma(0.5 * nu) - 0.5 * digamma(0.5 * (nu + D));
      for (int c = 1; c < classes; ++c) {
        const double S = scale * squaredResiduals(moments + (b * classes + c) * kMomentCount);
        const double dNu = gammaPart + 0.5 * ::log1p(S / nu) - 0.5 * (nu + D) * S / (nu * (nu + S));
        grad += weight * (e * dNu + 0.5 * D);
      }
    }
    return grad;
  }

 private:
  // 1 / (B · foreground classes): the mean over images and classes c ≥ 1.
  SEGLOSS_HD static double termWeight(int64_t batch, int classes) {
    return 1.0 / (static_cast<double>(batch) * (classes > 1 ? classes - 1 : 1));
  }
  // D, image b's valid pixels (Σ_c G_c).
  SEGLOSS_HD static double validPixels(const double* moments, int64_t b, int classes) {
    double D = 0.0;
    for (int c = 0; c < classes; ++c) D += moments[(b * classes + c) * kMomentCount + kMomentG];
    return D;
  }
  // Σ (p − g)² = P2 − 2 PG + G (≥ 0; rounding below 0 counts as 0).
  SEGLOSS_HD static double squaredResiduals(const double* s) {
    const double r = s[kMomentP2] - 2.0 * s[kMomentPG] + s[kMomentG];
    return r > 0.0 ? r : 0.0;
  }
};

}  // namespace segloss
