// Separable exact distance transform (distance_transform.h).
#include "distance_transform.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../parallel_cpu.h"

namespace segloss::geometry {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A set of parallel lines along one axis of a row-major array: `outer` blocks of `length` × `inner`
// elements; line (o, j) holds the elements o·length·inner + i·inner + j for i in [0, length).
struct AxisLines {
  int64_t outer = 1;
  int64_t length = 1;
  int64_t inner = 1;
  int64_t lines() const { return outer * inner; }
};

// Plane elements one scan unit covers (a few cache lines per row; vectorisable).
constexpr int64_t kScanChunk = 512;

// First pass, on the binary data: for line elements i, the squared physical distance
// ((i − nearest feature on the line)·s)², or +inf when the line has no feature. Covers the plane
// slice [j0, j1) of block o. `previous` is scratch of ≥ j1 − j0 doubles.
template <bool kFeatureNonZero>
void scanLines(const uint8_t* data, const AxisLines& axis, double spacing, int64_t o, int64_t j0, int64_t j1,
               double* out, double* previous) {
  const int64_t base = o * axis.length * axis.inner;
  const int64_t width = j1 - j0;
  // Forward: steps since the last feature at or above i (unscaled; inf + 1 stays inf).
  for (int64_t i = 0; i < axis.length; ++i) {
    const uint8_t* in = data + base + i * axis.inner + j0;
    double* row = out + base + i * axis.inner + j0;
    const double* above = i > 0 ? row - axis.inner : nullptr;
    for (int64_t j = 0; j < width; ++j) {
      const bool feature = (in[j] != 0) == kFeatureNonZero;
      const double carried = above ? above[j] + 1.0 : kInf;
      row[j] = feature ? 0.0 : carried;
    }
  }
  // Backward: min with the steps to the next feature below, then scale and square; `previous`
  // keeps the unscaled row below.
  for (int64_t i = axis.length - 1; i >= 0; --i) {
    double* row = out + base + i * axis.inner + j0;
    const bool last = i == axis.length - 1;
    for (int64_t j = 0; j < width; ++j) {
      const double steps = last ? row[j] : std::min(row[j], previous[j] + 1.0);
      previous[j] = steps;
      const double d = steps * spacing;
      row[j] = d * d;
    }
  }
}

void scanPass(const uint8_t* data, bool featureNonZero, const AxisLines& axis, double spacing, double* out) {
  const int64_t chunks = (axis.inner + kScanChunk - 1) / kScanChunk;
  const int64_t units = axis.outer * chunks;
  const int workers = workersFor(units, axis.length * std::min(axis.inner, kScanChunk));
  parallelRanges(units, workers, [&](int, int64_t begin, int64_t end) {
    std::vector<double> previous(static_cast<size_t>(std::min(axis.inner, kScanChunk)));
    for (int64_t u = begin; u < end; ++u) {
      const int64_t o = u / chunks;
      const int64_t j0 = (u % chunks) * kScanChunk;
      const int64_t j1 = std::min(axis.inner, j0 + kScanChunk);
      if (featureNonZero) {
        scanLines<true>(data, axis, spacing, o, j0, j1, out, previous.data());
      } else {
        scanLines<false>(data, axis, spacing, o, j0, j1, out, previous.data());
      }
    }
  });
}

// Lower envelope of the parabolas f[p] + ((x − p)·s)² over the finite f[p] (F&H Algorithm 1):
// v[0..k) the parabolas' apexes in order, z[r] the index-space abscissa where parabola r starts
// being the lowest. Returns k (0 when every f is inf).
int64_t buildEnvelope(const double* f, int64_t n, double inverseSquaredSpacing, int64_t* v, double* z) {
  int64_t k = 0;
  for (int64_t q = 0; q < n; ++q) {
    if (f[q] == kInf) continue;
    double start = -kInf;
    while (k > 0) {
      const int64_t p = v[k - 1];
      // Abscissa where the parabolas of p and q meet, in index units.
      start = ((f[q] - f[p]) * inverseSquaredSpacing + static_cast<double>(q * q - p * p)) /
              (2.0 * static_cast<double>(q - p));
      if (start > z[k - 1]) break;
      --k;
      start = -kInf;
    }
    v[k] = q;
    z[k] = start;
    ++k;
  }
  return k;
}

// Scratch for one worker of an envelope pass.
struct EnvelopeScratch {
  std::vector<double> f;   // [n] the line's input
  std::vector<int64_t> v;  // [n] apexes
  std::vector<double> z;   // [n] start abscissas
  explicit EnvelopeScratch(int64_t n) : f(static_cast<size_t>(n)), v(static_cast<size_t>(n)), z(static_cast<size_t>(n)) {}
};

// d[q] = min_p f[p] + ((q − p)·s)² for one line (strided by `stride` in data and out); the square
// root of it when kRoot.
template <bool kRoot, class Out>
void envelopeLine(const double* data, int64_t n, int64_t stride, double spacing, EnvelopeScratch& scratch, Out* out) {
  double* f = scratch.f.data();
  for (int64_t q = 0; q < n; ++q) f[q] = data[q * stride];
  const double squaredSpacing = spacing * spacing;
  const int64_t k = buildEnvelope(f, n, 1.0 / squaredSpacing, scratch.v.data(), scratch.z.data());
  if (k == 0) {
    for (int64_t q = 0; q < n; ++q) out[q * stride] = static_cast<Out>(kInf);
    return;
  }
  const int64_t* v = scratch.v.data();
  const double* z = scratch.z.data();
  int64_t r = 0;
  for (int64_t q = 0; q < n; ++q) {
    const double x = static_cast<double>(q);
    while (r + 1 < k && z[r + 1] < x) ++r;
    const double offset = static_cast<double>(q - v[r]);
    const double d = f[v[r]] + offset * offset * squaredSpacing;
    out[q * stride] = static_cast<Out>(kRoot ? std::sqrt(d) : d);
  }
}

template <bool kRoot, class Out>
void envelopePass(const double* data, const AxisLines& axis, double spacing, Out* out) {
  const int64_t units = axis.lines();
  const int workers = workersFor(units, axis.length);
  parallelRanges(units, workers, [&](int, int64_t begin, int64_t end) {
    EnvelopeScratch scratch(axis.length);
    for (int64_t u = begin; u < end; ++u) {
      const int64_t o = u / axis.inner;
      const int64_t j = u % axis.inner;
      const int64_t start = o * axis.length * axis.inner + j;
      envelopeLine<kRoot>(data + start, axis.length, axis.inner, spacing, scratch, out + start);
    }
  });
}

// All passes: the scan along the outermost spatial axis into `work`, envelopes along the others
// (in place in `work`), the last one (along W) writing `out` (squared when !kRoot).
template <bool kRoot, class Out>
void distancePasses(const uint8_t* data, bool featureNonZero, int64_t maps, const GridShape& grid, double* work,
                    Out* out) {
  checkGrid(grid);
  if (maps < 0) throw GeometryArgumentError("maps must be ≥ 0");
  if (maps == 0) return;
  const int64_t d = grid.depth, h = grid.height, w = grid.width;
  if (grid.spatialDims == 3) {
    scanPass(data, featureNonZero, {maps, d, h * w}, grid.spacing[0], work);
    envelopePass<false>(work, {maps * d, h, w}, grid.spacing[1], work);
  } else {
    scanPass(data, featureNonZero, {maps, h, w}, grid.spacing[1], work);
  }
  envelopePass<kRoot>(work, {maps * d * h, w, 1}, grid.spacing[2], out);
}

}  // namespace

void squaredDistanceToFeatures(const uint8_t* data, FeatureRule rule, int64_t maps, const GridShape& grid,
                               double* out) {
  distancePasses<false>(data, rule == FeatureRule::NonZeroElements, maps, grid, out, out);
}

void euclideanDistanceTransform(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out) {
  distancePasses<true>(mask, false, maps, grid, out, out);
}

void euclideanDistanceTransform(const uint8_t* mask, int64_t maps, const GridShape& grid, float* out) {
  checkGrid(grid);
  if (maps <= 0) return distancePasses<true>(mask, false, maps, grid, static_cast<double*>(nullptr), out);
  std::vector<double> work(static_cast<size_t>(maps * grid.voxels()));
  distancePasses<true>(mask, false, maps, grid, work.data(), out);
}

}  // namespace segloss::geometry
