// dice (spec 5): 1 − mean_c (2 I_c + s) / (P_c + G_c + s), region family (region_moments.h).
//   I_c = PG, P_c = P (P2 when squared), G_c = G over valid pixels.
// perImage: ratios per (image, class), averaged over images and classes; otherwise the sums are
// pooled over the batch first. includeBackground: keep class 0. logLoss: mean_c −log(D_c).
// The presets map onto the same functor:
//   monai  — DiceLoss: perImage, smooth 1e-5 (numerator and denominator).
//   smp    — DiceLoss('multiclass'): batch-pooled, smooth 0, denominator clamped at 2e-7 (its 1e-7 on ½(P + G) + s),
//            classes absent from the target contribute 0 (but still count in the mean).
//   nnunet — MemoryEfficientSoftDiceLoss: no background, smooth 1e-5, denominator clamped at
//            1e-8, value −mean D (offset 0) instead of 1 − mean D.
#pragma once

#include <cmath>

#include "../host_device.h"
#include "../loss_family.h"
#include "../option_fields.h"
#include "../region_moments.h"
#include "region_classes.h"

namespace segloss {

struct DiceOptions {
  bool perImage = false;            // per-image ratios (MONAI) vs batch-pooled sums (smp, survey)
  bool includeBackground = true;    // keep class 0
  double smooth = 1e-5;             // s, added to numerator and denominator
  bool squared = false;             // Σp² in the denominator (V-Net)
  bool logLoss = false;             // mean_c −log(max(D_c, logFloor))
  double denominatorClamp = 0.0;    // denominator = max(P + G + s, clamp) (smp 2e-7 = its 1e-7 on ½(P + G) + s; nnU-Net 1e-8)
  bool zeroAbsentClasses = false;   // smp: a class with G_c = 0 contributes 0 to the mean
  double offset = 1.0;              // value = offset − mean D (nnU-Net: 0)

  // The fields as members of O (DiceOptions, or an options struct derived from it: log_cosh_dice.h).
  template <class O>
  static constexpr auto fieldsOf() {
    return std::tuple{optionField<O, bool>("perImage", &O::perImage),
                      optionField<O, bool>("includeBackground", &O::includeBackground),
                      optionField<O, double>("smooth", &O::smooth),
                      optionField<O, bool>("squared", &O::squared),
                      optionField<O, bool>("logLoss", &O::logLoss),
                      optionField<O, double>("denominatorClamp", &O::denominatorClamp),
                      optionField<O, bool>("zeroAbsentClasses", &O::zeroAbsentClasses),
                      optionField<O, double>("offset", &O::offset)};
  }
  static constexpr auto fields() { return fieldsOf<DiceOptions>(); }
  // The broken invariant, or nullptr.
  const char* invalid() const {
    if (!(smooth >= 0.0) || !(denominatorClamp >= 0.0)) return "smooth or denominatorClamp is negative";
    return nullptr;
  }
};

struct DiceLoss : RegionMomentsLoss<DiceLoss> {
  static constexpr LossFamily kFamily = LossFamily::Region;
  static constexpr const char* kId = "dice";
  using Options = DiceOptions;
  static constexpr double logFloor = 1e-7;
  DiceOptions options;

  DiceLoss() = default;
  DiceLoss(const Options& o, const LossContext&) : options(o) {}

  // The moments the head reads.
  SEGLOSS_HD MomentMask moments() const {
    return momentBit(kMomentPG) | momentBit(kMomentG) | momentBit(options.squared ? kMomentP2 : kMomentP);
  }

  // moments, dmoments: [B, K, kMomentCount]. Pools over the batch unless perImage. dmoments
  // arrives zeroed; only the moments this loss reads are written.
  SEGLOSS_HD double head(const double* moments, double* dmoments, int64_t batch, int classes) const {
    return meanClassTerms(*this, moments, dmoments, batch, classes, options.perImage, options.includeBackground);
  }

  // One (group, class): its term of the mean and d term / d moment.
  SEGLOSS_HD double operator()(const PooledMoments& s, double* d) const {
    const int pMoment = options.squared ? kMomentP2 : kMomentP;
    double dI = 0.0, dP = 0.0;
    const double term = classTerm(s.m[kMomentPG], s.m[pMoment], s.m[kMomentG], dI, dP);
    d[kMomentPG] = dI;
    d[pMoment] = dP;
    return term;
  }

  // One class's contribution ℓ(D) and its derivatives by I and P.
  SEGLOSS_HD double classTerm(double I, double P, double G, double& dI, double& dP) const {
    dI = dP = 0.0;
    if (options.zeroAbsentClasses && G <= 0.0) return 0.0;
    const double s = options.smooth;
    const double num = 2.0 * I + s;
    const double rawDen = P + G + s;
    const bool clamped = rawDen < options.denominatorClamp;
    const double den = clamped ? options.denominatorClamp : rawDen;
    if (den <= 0.0) return options.logLoss ? 0.0 : options.offset - 1.0;  // 0 / 0: perfect agreement
    const double dice = num / den;
    double dLoss;  // d ℓ / d D
    double term;
    if (options.logLoss) {
      const bool floored = dice < logFloor;
      term = -::log(floored ? logFloor : dice);
      dLoss = floored ? 0.0 : -1.0 / dice;
    } else {
      term = options.offset - dice;
      dLoss = -1.0;
    }
    dI = dLoss * 2.0 / den;
    dP = clamped ? 0.0 : dLoss * (-num / (den * den));
    return term;
  }
};

}  // namespace segloss
