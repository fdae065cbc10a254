// Binary erosion, dilation and boundaries (morphology.h), row by row.
#include "morphology.h"

#include <cstdlib>
#include <vector>

#include "../parallel_cpu.h"

namespace segloss::geometry {
namespace {

struct Offset {
  int dz, dy, dx;
};

// The structuring element's neighbours (the centre excluded).
std::vector<Offset> neighbourOffsets(int spatialDims, Connectivity connectivity) {
  std::vector<Offset> offsets;
  const int zRange = spatialDims == 3 ? 1 : 0;
  for (int dz = -zRange; dz <= zRange; ++dz) {
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        const int steps = std::abs(dz) + std::abs(dy) + std::abs(dx);
        if (steps == 0) continue;
        if (connectivity == Connectivity::Face && steps > 1) continue;
        offsets.push_back({dz, dy, dx});
      }
    }
  }
  return offsets;
}

// Row `row` (= (m·D + z)·H + y) of the output. kErode: AND over the neighbourhood with
// outside = 0; otherwise OR.
template <bool kErode>
void morphologyRow(const uint8_t* mask, const GridShape& grid, const std::vector<Offset>& offsets, int64_t row,
                   uint8_t* out) {
  const int64_t w = grid.width, h = grid.height, d = grid.depth;
  const int64_t y = row % h, z = (row / h) % d, map = row / (h * d);
  const uint8_t* centre = mask + row * w;
  uint8_t* acc = out + row * w;
  for (int64_t x = 0; x < w; ++x) acc[x] = centre[x] != 0;
  for (const Offset& o : offsets) {
    const int64_t zz = z + o.dz, yy = y + o.dy;
    if (zz < 0 || zz >= d || yy < 0 || yy >= h) {
      if (kErode) {
        for (int64_t x = 0; x < w; ++x) acc[x] = 0;
      }
      continue;
    }
    const uint8_t* nb = mask + ((map * d + zz) * h + yy) * w;
    const int64_t x0 = o.dx < 0 ? 1 : 0, x1 = o.dx > 0 ? w - 1 : w;  // x with x + dx inside
    if (kErode) {
      if (o.dx < 0) acc[0] = 0;
      if (o.dx > 0) acc[w - 1] = 0;
      for (int64_t x = x0; x < x1; ++x) acc[x] &= nb[x + o.dx] != 0;
    } else {
      for (int64_t x = x0; x < x1; ++x) acc[x] |= nb[x + o.dx] != 0;
    }
  }
}

template <bool kErode>
void morphology(const uint8_t* mask, int64_t maps, const GridShape& grid, Connectivity connectivity, uint8_t* out) {
  checkGrid(grid);
  if (maps < 0) throw GeometryArgumentError("maps must be ≥ 0");
  const std::vector<Offset> offsets = neighbourOffsets(grid.spatialDims, connectivity);
  const int64_t rows = maps * grid.depth * grid.height;
  const int workers = workersFor(rows, grid.width * static_cast<int64_t>(offsets.size()));
  parallelRanges(rows, workers, [&](int, int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) morphologyRow<kErode>(mask, grid, offsets, row, out);
  });
}

}  // namespace

void binaryErosion(const uint8_t* mask, int64_t maps, const GridShape& grid, Connectivity connectivity, uint8_t* out) {
  morphology<true>(mask, maps, grid, connectivity, out);
}

void binaryDilation(const uint8_t* mask, int64_t maps, const GridShape& grid, Connectivity connectivity, uint8_t* out) {
  morphology<false>(mask, maps, grid, connectivity, out);
}

void innerBoundary(const uint8_t* mask, int64_t maps, const GridShape& grid, Connectivity connectivity, uint8_t* out) {
  binaryErosion(mask, maps, grid, connectivity, out);
  const int64_t n = maps * grid.voxels();
  for (int64_t i = 0; i < n; ++i) out[i] = (mask[i] != 0) & (out[i] ^ 1);
}

void outerBoundary(const uint8_t* mask, int64_t maps, const GridShape& grid, Connectivity connectivity, uint8_t* out) {
  binaryDilation(mask, maps, grid, connectivity, out);
  const int64_t n = maps * grid.voxels();
  for (int64_t i = 0; i < n; ++i) out[i] = out[i] & (mask[i] == 0);
}

}  // namespace segloss::geometry
