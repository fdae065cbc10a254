// log-cosh-dice (spec 6, Jadon 2020): log(cosh(L_dice)), L_dice the value of `dice` (dice.h) with all
// its options and presets. Region family: the Dice head's derivatives times d log cosh L / dL = tanh L.
#pragma once

#include <cmath>

#include "../host_device.h"
#include "../loss_family.h"
#include "../option_fields.h"
#include "../region_moments.h"
#include "dice.h"
#include "region_classes.h"

namespace segloss {

// The options of dice (a distinct type: the options variant holds one alternative per loss).
struct LogCoshDiceOptions : DiceOptions {
  static constexpr auto fields() { return fieldsOf<LogCoshDiceOptions>(); }
};

struct LogCoshDiceLoss : RegionMomentsLoss<LogCoshDiceLoss> {
  static constexpr LossFamily kFamily = LossFamily::Region;
  static constexpr const char* kId = "log-cosh-dice";
  using Options = LogCoshDiceOptions;
  DiceLoss dice;

  LogCoshDiceLoss() = default;
  LogCoshDiceLoss(const Options& o, const LossContext& context) : dice(static_cast<const DiceOptions&>(o), context) {}

  SEGLOSS_HD MomentMask moments() const { return dice.moments(); }

  // moments, dmoments: [B, K, kMomentCount]; dmoments arrives zeroed.
  SEGLOSS_HD double head(const double* moments, double* dmoments, int64_t batch, int classes) const {
    const double L = dice.head(moments, dmoments, batch, classes);
    scaleMoments(dmoments, batch, classes, ::tanh(L));
    // log cosh L = |L| + log(1 + e^(−2|L|)) − log 2, without overflow.
    const double a = ::fabs(L);
    return a + ::log1p(::exp(-2.0 * a)) - 0.69314718055994530942;
  }
};

}  // namespace segloss
