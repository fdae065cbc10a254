// The spatial grid every geometric primitive works on: a batch of `maps` maps of [D, H, W]
// elements (a 2-D map is [1, H, W]), row-major, with a physical spacing per axis.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>

namespace segloss::geometry {

// Thrown for violated invariants of the geometry code (user-facing wording lives in TypeScript).
class GeometryArgumentError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct GridShape {
  int spatialDims = 2;                   // 2: [H, W] (depth = 1); 3: [D, H, W]
  int64_t depth = 1;                     // D
  int64_t height = 1;                    // H
  int64_t width = 1;                     // W
  std::array<double, 3> spacing{1, 1, 1};  // physical step along D, H, W (D unused in 2-D)

  // Elements of one map.
  int64_t voxels() const { return depth * height * width; }
};

// Spacing bounds: squared spacings, and ratios of them across axes, stay far inside float64's
// range in the envelope passes.
inline constexpr double kMinSpacing = 1e-12;
inline constexpr double kMaxSpacing = 1e12;

// Throws GeometryArgumentError unless the extents are ≥ 1, spatialDims is 2 or 3 (depth 1 when 2)
// and every used spacing is in [kMinSpacing, kMaxSpacing].
inline void checkGrid(const GridShape& grid) {
  if (grid.spatialDims != 2 && grid.spatialDims != 3) throw GeometryArgumentError("spatialDims must be 2 or 3");
  if (grid.depth < 1 || grid.height < 1 || grid.width < 1) throw GeometryArgumentError("extents must be ≥ 1");
  if (grid.spatialDims == 2 && grid.depth != 1) throw GeometryArgumentError("a 2-D grid has depth 1");
  for (int axis = 3 - grid.spatialDims; axis < 3; ++axis) {
    const double s = grid.spacing[axis];
    if (!(s >= kMinSpacing && s <= kMaxSpacing)) throw GeometryArgumentError("spacing must be in [1e-12, 1e12]");
  }
}

}  // namespace segloss::geometry
