// region-wise (spec 22, Valverde & Tohka 2023): mean over (b, c, valid pixels) of p_c·z_c with the
// rectified region-wise map z_c = −d / max d inside the class (d the distance to the class outside,
// the max over the class's pixels of the image) and +1 elsewhere and for absent classes
// (geometry::regionWiseRectifiedMap, cached per target), or a caller-supplied map [B, K, N].
// Map family, Linear term over every class. Reference: jmlipman RegionWiseLoss `RWLoss`.
#pragma once

#include "../host_device.h"
#include "../loss_family.h"
#include "../map_terms.h"
#include "../option_fields.h"

namespace segloss {

struct RegionWiseOptions {
  DoubleArray map;  // [B, K, N] finite numbers replacing the rectified map, or empty

  static constexpr auto fields() { return std::tuple{optionField("map", &RegionWiseOptions::map)}; }
  const char* invalid() const { return nullptr; }  // its length is checked against B·K·N in prepareMapTerm
};

struct RegionWiseLoss {
  static constexpr LossFamily kFamily = LossFamily::Map;
  static constexpr const char* kId = "region-wise";
  using Options = RegionWiseOptions;
  const RegionWiseOptions* options = nullptr;  // the term's options (the caller map is not copied)
  int classes = 0;

  RegionWiseLoss() = default;
  RegionWiseLoss(const Options& o, const LossContext& context) : options(&o), classes(context.classes) {}

  MapTermPlan plan() const {
    MapTermPlan p;
    p.kind = MapTermKind::Linear;
    p.targetMap = TargetMapKind::RegionWiseRectified;
    p.callerMap = options->map.empty() ? nullptr : &options->map;
    p.classes = classesFrom(0, classes);
    return p;
  }
};

}  // namespace segloss
