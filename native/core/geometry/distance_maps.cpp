// Per-class distance maps (distance_maps.h), from the two exact distance transforms of a mask.
#include "distance_maps.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "distance_transform.h"
#include "../parallel_cpu.h"

namespace segloss::geometry {
namespace {

// What one map's mask holds.
struct MaskExtent {
  bool anyInside = false;
  bool anyOutside = false;
  double maxInside = 0;   // max distance to the other side over inside elements
  double maxOutside = 0;  // ... over outside elements
};

// The extent of a map with both sides, from its distances to the other side.
MaskExtent maskExtent(const uint8_t* mask, const double* distance, int64_t n) {
  MaskExtent e;
  e.anyInside = e.anyOutside = true;
  double maxInside = 0, maxOutside = 0;  // distances are ≥ 0: selects of 0 leave a maximum as it is
  for (int64_t i = 0; i < n; ++i) {
    const double d = distance[i];
    const bool inside = mask[i] != 0;
    const double in = inside ? d : 0.0, out = inside ? 0.0 : d;
    maxInside = in > maxInside ? in : maxInside;
    maxOutside = out > maxOutside ? out : maxOutside;
  }
  e.maxInside = maxInside;
  e.maxOutside = maxOutside;
  return e;
}

// The extent of a map with an empty or full mask (no distance is defined).
MaskExtent oneSidedExtent(const uint8_t* mask, int64_t n) {
  MaskExtent e;
  e.anyInside = n > 0 && mask[0] != 0;
  e.anyOutside = n > 0 && mask[0] == 0;
  return e;
}

// Calls write(mask, distance, extent, out, n) per map, with the map's slices; distance and out
// are the same buffer (each element's distance to the other side, written first; unwritten for a
// one-sided map, whose write must not read it), so write works element by element in place.
template <class Write>
void perMap(const uint8_t* mask, int64_t maps, const GridShape& grid, int64_t disjointGroup, double* out, const Write& write) {
  std::vector<uint8_t> defined(static_cast<size_t>(std::max<int64_t>(maps, 0)));
  distanceToOtherSide(mask, maps, grid, out, defined.data(), disjointGroup);
  const int64_t n = grid.voxels();
  parallelRanges(maps, workersFor(maps, n), [&](int, int64_t b, int64_t e) {
    for (int64_t m = b; m < e; ++m) {
      const uint8_t* mm = mask + m * n;
      double* om = out + m * n;
      write(mm, om, defined[m] ? maskExtent(mm, om, n) : oneSidedExtent(mm, n), om, n);
    }
  });
}

}  // namespace

void boundarySignedDistance(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out, int64_t disjointGroup) {
  perMap(mask, maps, grid, disjointGroup, out, [](const uint8_t* m, const double* d, const MaskExtent& e, double* o, int64_t n) {
    const bool defined = e.anyInside && e.anyOutside;
    for (int64_t i = 0; i < n; ++i) o[i] = !defined ? 0.0 : m[i] ? 1.0 - d[i] : d[i];
  });
}

void regionWiseRectifiedMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out) {
  // Only the inside distances are read: one transform (edt(mask)) instead of both sides'.
  euclideanDistanceTransform(mask, maps, grid, out);
  const int64_t n = grid.voxels();
  parallelRanges(maps, workersFor(maps, n), [&](int, int64_t b, int64_t e) {
    for (int64_t m = b; m < e; ++m) {
      const uint8_t* __restrict mm = mask + m * n;
      double* __restrict om = out + m * n;
      uint8_t outside = 0;
      double maxInside = 0;  // selects, so that both loops vectorise
      for (int64_t i = 0; i < n; ++i) {
        const bool inside = mm[i] != 0;
        const double d = inside ? om[i] : 0.0;  // outside elements: 0 (their transform is 0 too)
        maxInside = d > maxInside ? d : maxInside;
        outside |= static_cast<uint8_t>(!inside);
      }
      // Without outside elements every distance is +inf: −1 inside. Else −d / max (max > 0 when any
      // element is inside: its distance to the nearest outside one is ≥ one spacing).
      for (int64_t i = 0; i < n; ++i) {
        const double inside = outside ? -om[i] / maxInside : -1.0;
        om[i] = mm[i] ? inside : 1.0;
      }
    }
  });
}

void hausdorffDistanceMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out, int64_t disjointGroup) {
  perMap(mask, maps, grid, disjointGroup, out, [](const uint8_t*, const double* d, const MaskExtent& e, double* o, int64_t n) {
    const bool defined = e.anyInside && e.anyOutside;
    for (int64_t i = 0; i < n; ++i) o[i] = defined ? d[i] : 0.0;
  });
}

void distancePenaltyMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out, int64_t disjointGroup) {
  perMap(mask, maps, grid, disjointGroup, out, [](const uint8_t* m, const double* d, const MaskExtent& e, double* o, int64_t n) {
    const bool defined = e.anyInside && e.anyOutside;
    for (int64_t i = 0; i < n; ++i) {
      const double max = m[i] ? e.maxInside : e.maxOutside;
      o[i] = defined ? (max - d[i]) / max : 0.0;
    }
  });
}

}  // namespace segloss::geometry
