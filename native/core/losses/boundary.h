// boundary (spec 15, Kervadec et al. 2019): mean over (b, c ∈ classes, valid pixels) of p_c·φ_c,
// φ_c the signed distance map of the target class (+distance outside, −(distance − 1) inside, 0 for
// absent classes: geometry::boundarySignedDistance, cached per target). Map family, Linear term.
// Reference: LIVIAETS boundary-loss SurfaceLoss with one_hot2dist (untruncated maps).
#pragma once

#include "../host_device.h"
#include "../loss_family.h"
#include "../map_terms.h"
#include "../option_fields.h"

namespace segloss {

struct BoundaryOptions {
  DoubleArray classes;  // class ids in the mean (distinct integers in [0, K)); empty = 1..K−1

  static constexpr auto fields() { return std::tuple{optionField("classes", &BoundaryOptions::classes)}; }
  const char* invalid() const { return nullptr; }  // ids are checked against K in plan()
};

struct BoundaryLoss {
  static constexpr LossFamily kFamily = LossFamily::Map;
  static constexpr const char* kId = "boundary";
  using Options = BoundaryOptions;
  BoundaryOptions options;
  int classes = 0;

  BoundaryLoss() = default;
  BoundaryLoss(const Options& o, const LossContext& context) : options(o), classes(context.classes) {}

  MapTermPlan plan() const {
    MapTermPlan p;
    p.kind = MapTermKind::Linear;
    p.targetMap = TargetMapKind::BoundarySigned;
    p.classes = selectedClasses(options.classes, classes, "classes");
    return p;
  }
};

}  // namespace segloss
