// focal (spec 3; Lin et al. 2017): mean over valid pixels of −α_t (1 − p_t)^γ log p_t, softmax by
// default, γ = 2, α per class optional (default all 1); γ = 0 is cross-entropy. Pixel-wise family
// (pixel_terms.h): f = −s·a_t·q^γ·log p_t with q = 1 − p_t, a = α (classFactors), s the preset's
// scale; A = p_t ∂f/∂p_t = s·a_t·q^γ·(γ·p_t·log p_t / q − 1), whose limit at q → 0 is −s·a_t·q^γ·(1 + γ)
// (p_t log p_t / q → −1), so no pixel divides by 0.
// Presets:
//   monai — MONAI FocalLoss(use_softmax=True, to_onehot_y=True, weight=α): its mean runs over the
//           classes too, i.e. the value divided by K (meanOverClasses).
//   smp   — segmentation_models.pytorch FocalLoss(mode='multiclass', alpha=α): under the per-channel
//           sigmoid, the mean over the C channels of each channel's binary focal term with the
//           target [t = c]: the true class's term with a = α (classFactors), the channel
//           complements (pixel_terms.h) of the other channels with b = 1 − α (complementFactor),
//           and meanOverClasses. Without α: a = b = 1.
#pragma once

#include <cmath>

#include "../host_device.h"
#include "../loss_family.h"
#include "../math.h"
#include "../option_fields.h"
#include "../pixel_terms.h"

namespace segloss {

struct FocalOptions {
  double gamma = 2.0;            // γ ≥ 0, the focusing exponent
  DoubleArray alpha;             // [K] α_c ≥ 0, or empty (all 1)
  bool meanOverClasses = false;  // monai, smp: value / K
  double complementFactor = 0.0; // smp: b ≥ 0 of the other channels' binary terms (sigmoid), 0: none

  static constexpr auto fields() {
    return std::tuple{optionField("gamma", &FocalOptions::gamma),
                      optionField("alpha", &FocalOptions::alpha, kPerClass),
                      optionField("meanOverClasses", &FocalOptions::meanOverClasses),
                      optionField("complementFactor", &FocalOptions::complementFactor)};
  }
  // The broken invariant, or nullptr.
  const char* invalid() const {
    if (!(gamma >= 0.0) || gamma == HUGE_VAL) return "gamma is negative or not finite";
    for (const double a : alpha.values) {
      if (!(a >= 0.0) || a == HUGE_VAL) return "alpha holds a negative or non-finite weight";
    }
    if (!(complementFactor >= 0.0) || complementFactor == HUGE_VAL) return "complementFactor is negative or not finite";
    return nullptr;
  }
};

struct FocalLoss : TrueClassPixelLoss<FocalLoss> {
  static constexpr LossFamily kFamily = LossFamily::Pixel;
  static constexpr const char* kId = "focal";
  using Options = FocalOptions;

  PixelTermWeights weights;
  double gamma = 2.0;
  double scale = 1.0;  // 1, or 1 / K (monai)
  int classes = 0;     // K

  FocalLoss() = default;
  FocalLoss(const Options& options, const LossContext& context)
      : gamma(options.gamma), scale(options.meanOverClasses ? 1.0 / context.classes : 1.0), classes(context.classes) {
    weights.classFactors = context.bind(options.alpha);
    weights.complementFactor = options.complementFactor;
  }

  template <class Math, typename T>
  SEGLOSS_HD SEGLOSS_INLINE T trueClassTerm(T p, T logP, T a, T& scaledGrad) const {
    const T g = static_cast<T>(gamma);
    const T q = T(1) - p;
    // Branch-free (both sides computed, then selected) and one select per statement: GCC turns a
    // nested select of constants into a load through a selected address, which does not vectorise.
    const T floor = ProbabilityFloor<T>::value;
    const T powq = Math::exp(g * Math::log(q > T(0) ? q : floor));
    const T positive = q > T(0) ? powq : T(0);
    const T qg = g == T(0) ? T(1) : positive;  // q^γ
    const bool wide = q > T(1e-6);
    const T den = wide ? q : T(1);
    const T quotient = p * logP / den;
    const T ratio = wide ? quotient : -p;  // p log p / q → −1 as q → 0
    const T sa = static_cast<T>(scale) * a;
    scaledGrad = sa * qg * (g * ratio - T(1));
    return -sa * qg * logP;
  }
};

}  // namespace segloss
