// The per-class distance maps of the boundary-level losses (spec/LOSSES.md), from one binary mask
// per map. All take mask [maps, D, H, W] uint8 (non-zero = the class) and write out
// [maps, D, H, W] float64; distances are physical (grid spacing). None of them produces NaN or
// Inf: maps whose mask is empty (absent class) or full (no outside) get the stated constants.
// disjointGroup (boundary, Hausdorff and penalty maps): masks come in groups of that many that do
// not overlap, e.g. the classes of one image (see distanceToOtherSide: half the transforms).
#pragma once

#include <cstdint>

#include "grid.h"

namespace segloss::geometry {

// Kervadec et al. 2019 (boundary loss, LIVIAETS one_hot2dist): +distance to the class outside it,
// −(distance to the outside − 1) inside it (0 on the inner boundary with unit spacing).
// Empty or full mask: 0 everywhere.
void boundarySignedDistance(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out,
                            int64_t disjointGroup = 1);

// Valverde et al. 2023 (region-wise loss, rectified map): −d / max d inside the class, d the
// distance to the outside and the max over the map's inside; +1 outside.
// Empty mask: +1 everywhere. Full mask: −1 everywhere.
void regionWiseRectifiedMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out);

// Karimi & Salcudean 2019 (Hausdorff-DT loss): edt(mask) + edt(¬mask), i.e. the distance to the
// other side for every element. Empty or full mask: 0 everywhere.
void hausdorffDistanceMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out,
                          int64_t disjointGroup = 1);

// Calivá et al. 2019 (distance-map CE) penalty Φ ∈ [0, 1]: on each side of the boundary (inside,
// outside), Φ = (max d − d) / max d with d the distance to the other side and max over that
// side's elements of the map. Empty or full mask: 0 everywhere. The CE weight is 1 + Φ.
void distancePenaltyMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out,
                        int64_t disjointGroup = 1);

}  // namespace segloss::geometry
