// Per-class distance maps (distance_maps.h), from the two exact distance transforms of a mask.
#include "distance_maps.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "distance_transform.h"

namespace segloss::geometry {
namespace {

// For every element, the distance to the other side of the mask: inside elements to the nearest
// outside one, outside elements to the nearest inside one ([maps, D, H, W]); inf where the other
// side is empty.
std::vector<double> distanceToOtherSide(const uint8_t* mask, int64_t maps, const GridShape& grid) {
  checkGrid(grid);
  if (maps < 0) throw GeometryArgumentError("maps must be ≥ 0");
  const int64_t n = maps * grid.voxels();
  std::vector<double> inside(static_cast<size_t>(n)), outside(static_cast<size_t>(n));
  squaredDistanceToFeatures(mask, FeatureRule::ZeroElements, maps, grid, inside.data());
  squaredDistanceToFeatures(mask, FeatureRule::NonZeroElements, maps, grid, outside.data());
  for (int64_t i = 0; i < n; ++i) inside[i] = std::sqrt(mask[i] ? inside[i] : outside[i]);
  return inside;
}

// What one map's mask holds.
struct MaskExtent {
  bool anyInside = false;
  bool anyOutside = false;
  double maxInside = 0;   // max distance to the other side over inside elements
  double maxOutside = 0;  // ... over outside elements
};

MaskExtent maskExtent(const uint8_t* mask, const double* distance, int64_t n) {
  MaskExtent e;
  for (int64_t i = 0; i < n; ++i) {
    if (mask[i]) {
      e.anyInside = true;
      e.maxInside = std::max(e.maxInside, distance[i]);
    } else {
      e.anyOutside = true;
      e.maxOutside = std::max(e.maxOutside, distance[i]);
    }
  }
  return e;
}

// Calls write(mask, distance, extent, out, n) per map, with the map's slices.
template <class Write>
void perMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out, const Write& write) {
  const std::vector<double> distance = distanceToOtherSide(mask, maps, grid);
  const int64_t n = grid.voxels();
  for (int64_t m = 0; m < maps; ++m) {
    const uint8_t* mm = mask + m * n;
    const double* dm = distance.data() + m * n;
    write(mm, dm, maskExtent(mm, dm, n), out + m * n, n);
  }
}

}  // namespace

void boundarySignedDistance(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out) {
  perMap(mask, maps, grid, out, [](const uint8_t* m, const double* d, const MaskExtent& e, double* o, int64_t n) {
    const bool defined = e.anyInside && e.anyOutside;
    for (int64_t i = 0; i < n; ++i) o[i] = !defined ? 0.0 : m[i] ? 1.0 - d[i] : d[i];
  });
}

void regionWiseRectifiedMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out) {
  perMap(mask, maps, grid, out, [](const uint8_t* m, const double* d, const MaskExtent& e, double* o, int64_t n) {
    for (int64_t i = 0; i < n; ++i) o[i] = !m[i] ? 1.0 : e.anyOutside ? -d[i] / e.maxInside : -1.0;
  });
}

void hausdorffDistanceMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out) {
  perMap(mask, maps, grid, out, [](const uint8_t*, const double* d, const MaskExtent& e, double* o, int64_t n) {
    const bool defined = e.anyInside && e.anyOutside;
    for (int64_t i = 0; i < n; ++i) o[i] = defined ? d[i] : 0.0;
  });
}

void distancePenaltyMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out) {
  perMap(mask, maps, grid, out, [](const uint8_t* m, const double* d, const MaskExtent& e, double* o, int64_t n) {
    const bool defined = e.anyInside && e.anyOutside;
    for (int64_t i = 0; i < n; ++i) {
      const double max = m[i] ? e.maxInside : e.maxOutside;
      o[i] = defined ? (max - d[i]) / max : 0.0;
    }
  });
}

}  // namespace segloss::geometry
