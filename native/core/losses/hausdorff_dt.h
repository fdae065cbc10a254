// hausdorff-dt (spec 16, Karimi & Salcudean 2019): mean over (b, c ∈ classes, valid pixels) of
// (p_c − g_c)²·(d_g^α + d_p^α), d = edt(mask) + edt(¬mask) of the target class (cached per target)
// and of the thresholded prediction p_c > 0.5 (recomputed every call), both held constant; empty or
// full masks give d = 0 (geometry::hausdorffDistanceMap). Map family, SquaredError term.
// References: PatRyg99 HausdorffLoss HausdorffDTLoss, MONAI HausdorffDTLoss.
#pragma once

#include <cmath>

#include "../host_device.h"
#include "../loss_family.h"
#include "../map_terms.h"
#include "../option_fields.h"

namespace segloss {

struct HausdorffDtOptions {
  double alpha = 2.0;              // α > 0, the exponent of the distances
  bool includeBackground = false;  // keep class 0 in the mean

  static constexpr auto fields() {
    return std::tuple{optionField("alpha", &HausdorffDtOptions::alpha),
                      optionField("includeBackground", &HausdorffDtOptions::includeBackground)};
  }
  const char* invalid() const {
    if (!(alpha > 0.0) || alpha == HUGE_VAL) return "alpha is not a finite number > 0";
    return nullptr;
  }
};

struct HausdorffDtLoss {
  static constexpr LossFamily kFamily = LossFamily::Map;
  static constexpr const char* kId = "hausdorff-dt";
  using Options = HausdorffDtOptions;
  HausdorffDtOptions options;
  int classes = 0;

  HausdorffDtLoss() = default;
  HausdorffDtLoss(const Options& o, const LossContext& context) : options(o), classes(context.classes) {}

  MapTermPlan plan() const {
    MapTermPlan p;
    p.kind = MapTermKind::SquaredError;
    p.targetMap = TargetMapKind::HausdorffDistance;
    p.predictionMap = true;
    p.exponent = options.alpha;
    p.classes = classesFrom(options.includeBackground ? 0 : 1, classes);
    return p;
  }
};

}  // namespace segloss
