// Which target-only map a boundary-level loss reads (target_maps.h computes and caches them). Kept
// apart from target_maps.h so that loss functor headers can name a kind without the cache.
#pragma once

#include <cstdint>

namespace segloss {

// Which map of one image (K classes, N pixels).
enum class TargetMapKind : int {
  BoundarySigned,       // [K, N] geometry::boundarySignedDistance of each class (Kervadec; 0 for absent classes)
  RegionWiseRectified,  // [K, N] geometry::regionWiseRectifiedMap (Valverde; +1 for absent classes)
  HausdorffDistance,    // [K, N] geometry::hausdorffDistanceMap, edt(mask) + edt(¬mask) (0 for empty / full)
  DistancePenalty,      // [K, N] geometry::distancePenaltyMap Φ_c ∈ [0, 1] of each class
  ForegroundPenalty,    // [N] Φ of the foreground mask (label in [1, K)): (max d − d) / max d per side (spec)
  ForegroundPenaltyOdyssey,  // [N] the same as SegLossOdyssey computes it: (max d − d) / (max d − 1) per side
  InnerBoundaryCount,   // [K] pixels of each class with a face neighbour outside it (or on the array's edge)
  ActiveBoundaryDistance,  // [N] ABL's ⌊edt − 1⌋ to the target boundary (labels ≠ below or right, ignored pixels), 0 on it; per 2-D slice
};


// Number of doubles of one image's map.
inline int64_t targetMapLength(TargetMapKind kind, int classes, int64_t pixels) {
  switch (kind) {
    case TargetMapKind::ForegroundPenalty:
    case TargetMapKind::ForegroundPenaltyOdyssey:
    case TargetMapKind::ActiveBoundaryDistance: return pixels;
    case TargetMapKind::InnerBoundaryCount: return classes;
    default: return int64_t(classes) * pixels;
  }
}

}  // namespace segloss
