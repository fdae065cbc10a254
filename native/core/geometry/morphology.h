// Binary morphology on [maps, D, H, W] uint8 maps (non-zero = inside): erosion and dilation by the
// elementary structuring element of a connectivity, and the inner / outer boundaries built from
// them. Outside the array counts as background (scipy.ndimage's default border_value = 0), so an
// inside element on the array's edge is eroded and belongs to the inner boundary.
#pragma once

#include <cstdint>

#include "grid.h"

namespace segloss::geometry {

// The neighbourhood of an element: scipy's generate_binary_structure(ndim, 1) or (ndim, ndim).
enum class Connectivity : int {
  Face = 1,  // neighbours sharing a face: 4 in 2-D, 6 in 3-D (a cross)
  Full = 2,  // every neighbour in the 3^d block: 8 in 2-D, 26 in 3-D
};

// out[i] = 1 when element i and all its neighbours are inside (0 or 1 values).
//   mask: [maps, D, H, W]; out: [maps, D, H, W] (may not alias mask)
void binaryErosion(const uint8_t* mask, int64_t maps, const GridShape& grid, Connectivity connectivity, uint8_t* out);

// out[i] = 1 when element i or one of its neighbours is inside.
void binaryDilation(const uint8_t* mask, int64_t maps, const GridShape& grid, Connectivity connectivity, uint8_t* out);

// out = mask ∧ ¬erosion(mask): inside elements with a neighbour outside (or on the array's edge).
// With Connectivity::Face this is medpy's surface (mask ^ binary_erosion(mask, cross)).
void innerBoundary(const uint8_t* mask, int64_t maps, const GridShape& grid, Connectivity connectivity, uint8_t* out);

// out = dilation(mask) ∧ ¬mask: outside elements with an inside neighbour.
void outerBoundary(const uint8_t* mask, int64_t maps, const GridShape& grid, Connectivity connectivity, uint8_t* out);

}  // namespace segloss::geometry
