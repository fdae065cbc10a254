// Separable exact distance transform (distance_transform.h).
//
// Memory layout of the work, chosen so that each map (2-D) or each D-plane (3-D) stays in the
// core's cache between passes: the first pass writes int32 step counts along the outermost
// spatial axis; each later pass works line by line from them. With at least as many maps as
// threads, every worker runs whole maps; otherwise the passes of one map are split over workers.
//
// The two-sided transform (distance to the other side, for masks with both) runs as one transform:
// its first pass counts the steps to the nearest element of the other value, and each line pass
// takes the envelope of every run of equal values between its two neighbours of the other value
// (0 there): the envelopes of edt(mask) and edt(¬mask), computed together.
#include "distance_transform.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <vector>

#include "../batch_buffer.h"
#include "../parallel_cpu.h"

namespace segloss::geometry {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Step count meaning "no feature on this line"; real counts are < every extent < kNoFeature.
constexpr int32_t kNoFeature = int32_t(1) << 30;

// Plane elements one scan unit covers at most (a few cache lines per row; vectorisable).
constexpr int64_t kScanChunk = 1024;

// What a transform measures each element's distance to.
enum class Measure {
  ToZeroElements,     // edt(mask)
  ToNonZeroElements,  // the distance to the non-zero elements
  ToOtherSide,        // edt(mask) inside, edt(¬mask) outside: both at once
};

// The steps an element is from what `kMeasure` measures to, counting only itself and its
// neighbour on the line (before it in the forward sweep, after it in the backward one): 0 for a
// feature itself; for the two-sided measure, 1 where the neighbour's value (zero or not) differs;
// else kNoFeature. Arithmetic, not a select of constants (GCC made that a branch: not vectorised).
template <Measure kMeasure>
int32_t ownSteps(uint8_t element, uint8_t neighbour) {
  if constexpr (kMeasure == Measure::ToOtherSide) {
    const int32_t differs = (element != 0) != (neighbour != 0);
    return kNoFeature - differs * (kNoFeature - 1);
  } else {
    const int32_t feature = (element != 0) == (kMeasure == Measure::ToNonZeroElements);
    return kNoFeature - feature * kNoFeature;
  }
}

// First pass, on the binary data of one map: steps[i, j] = |i − the nearest element of line j
// that kMeasure measures to| (for the two-sided measure: the nearest of the other value), for
// lines along the outermost axis (length `length`, `inner` elements per position), for the plane
// slice [j0, j1); kNoFeature when the line has none. A forward sweep carries the count from the
// element before, a backward one from the element after.
template <Measure kMeasure>
void scanSteps(const uint8_t* data, int64_t length, int64_t inner, int64_t j0, int64_t j1, int32_t* steps) {
  for (int64_t j = j0; j < j1; ++j) steps[j] = ownSteps<kMeasure>(data[j], data[j]);  // nothing before row 0
  for (int64_t i = 1; i < length; ++i) {
    const uint8_t* in = data + i * inner;
    const uint8_t* up = in - inner;
    int32_t* row = steps + i * inner;
    const int32_t* above = row - inner;
    for (int64_t j = j0; j < j1; ++j) row[j] = std::min(ownSteps<kMeasure>(in[j], up[j]), std::min(above[j] + 1, kNoFeature));
  }
  for (int64_t i = length - 2; i >= 0; --i) {
    const uint8_t* in = data + i * inner;
    const uint8_t* down = in + inner;
    int32_t* row = steps + i * inner;
    const int32_t* below = row + inner;
    for (int64_t j = j0; j < j1; ++j) {
      const int32_t carried = below[j] + 1;
      if constexpr (kMeasure == Measure::ToOtherSide) {
        row[j] = std::min(row[j], std::min(carried, ownSteps<kMeasure>(in[j], down[j])));
      } else {
        row[j] = std::min(row[j], carried);  // a feature's own 0 is in row[j] already
      }
    }
  }
}

// Scratch of one worker: the line being transformed and its lower envelope.
struct LineScratch {
  std::vector<double> f;   // [n] the line's squared distances so far
  std::vector<int64_t> v;  // [n] apexes of the envelope's parabolas
  std::vector<double> vh;  // [n] h = f/s² + p² at each apex
  std::vector<double> zn;  // [n + 1] start abscissa of each parabola: zn / zd (index units)
  std::vector<double> zd;  // [n + 1] (zd > 0; −inf for the first: zn = −1, zd = 0; +inf after the last)
  std::vector<double> plane;  // [H·W] 3-D only: the plane after the H pass
  explicit LineScratch(int64_t n, int64_t planeSize = 0)
      : f(static_cast<size_t>(n)),
        v(static_cast<size_t>(n)),
        vh(static_cast<size_t>(n)),
        zn(static_cast<size_t>(n + 1)),
        zd(static_cast<size_t>(n + 1)),
        plane(static_cast<size_t>(planeSize)) {}
};

// f[q] = (steps[q·stride]·s)², inf where no feature.
void squaredStepsLine(const int32_t* steps, int64_t n, int64_t stride, double spacing, double* f) {
  for (int64_t q = 0; q < n; ++q) {
    const int32_t k = steps[q * stride];
    const double d = static_cast<double>(k) * spacing;
    f[q] = k == kNoFeature ? kInf : d * d;
  }
}

// Lower envelope of the parabolas f[p] + ((x − p)·s)² over the finite f[p] (Felzenszwalb &
// Huttenlocher, Algorithm 1), in index units: with h[p] = f[p]/s² + p², the parabolas of p < q
// meet at x = (h[q] − h[p]) / (2(q − p)). Each parabola's start is kept as a fraction (zn / zd,
// zd > 0; zn = −1, zd = 0 encodes −inf for the first: a cross-multiplied comparison then says
// "starts before" by itself) and compared by cross-multiplication, here and in the evaluation
// sweep, so no division is made (exact comparisons with integer squared distances). Returns the
// number of parabolas; zn[k] = 1, zd[k] = 0 (+inf) ends the sweep.
int64_t buildEnvelope(const double* f, int64_t n, double inverseSquaredSpacing, LineScratch& s) {
  int64_t* v = s.v.data();
  double* vh = s.vh.data();
  double* zn = s.zn.data();
  double* zd = s.zd.data();
  int64_t k = 0;
  for (int64_t q = 0; q < n; ++q) {
    if (!(f[q] < kInf)) continue;  // no feature on the line so far
    const double qd = static_cast<double>(q);
    const double hq = f[q] * inverseSquaredSpacing + qd * qd;
    double num = -1.0, den = 0.0;  // −inf
    while (k > 0) {
      num = hq - vh[k - 1];
      den = 2.0 * (qd - static_cast<double>(v[k - 1]));
      if (num * zd[k - 1] > zn[k - 1] * den) break;  // starts after the last one
      --k;
      num = -1.0;
      den = 0.0;
    }
    v[k] = q;
    vh[k] = hq;
    zn[k] = num;
    zd[k] = den;
    ++k;
  }
  zn[k] = 1.0;
  zd[k] = 0.0;
  return k;
}

// out[q·stride] = min_p f[p] + ((q − p)·s)² (its square root when kRoot) for q in [first, last),
// from the parabolas of f[0, n) (f = the scratch's line + offset).
template <bool kRoot, class Out>
void envelopeSegment(const double* f, int64_t n, int64_t first, int64_t last, double spacing, LineScratch& s, Out* out,
                     int64_t stride) {
  const double squaredSpacing = spacing * spacing;
  const int64_t k = buildEnvelope(f, n, 1.0 / squaredSpacing, s);
  if (k == 0) {
    for (int64_t q = first; q < last; ++q) out[q * stride] = static_cast<Out>(kInf);
    return;
  }
  const int64_t* v = s.v.data();
  const double* zn = s.zn.data();
  const double* zd = s.zd.data();
  int64_t r = 0;
  for (int64_t q = first; q < last; ++q) {
    const double x = static_cast<double>(q);
    while (zn[r + 1] < x * zd[r + 1]) ++r;  // parabola r + 1 starts before x
    const double offset = static_cast<double>(q - v[r]);
    const double d = f[v[r]] + offset * offset * squaredSpacing;
    if constexpr (kRoot) {
      out[q * stride] = static_cast<Out>(std::sqrt(d));
    } else {
      out[q * stride] = static_cast<Out>(d);
    }
  }
}

// The transform of the scratch's line f[0, n) into out. Elements with f = 0 (features of the line)
// cut it into independent segments: beyond a zero-valued apex no other parabola is lower. So zero
// runs are written directly and the envelope runs only over each segment between two zeros (both
// included), which skips the background of typical masks.
template <bool kRoot, class Out>
void envelopeLine(int64_t n, double spacing, LineScratch& s, Out* out, int64_t stride) {
  const double* f = s.f.data();
  int64_t q = 0;
  while (q < n) {
    if (f[q] == 0.0) {
      out[q * stride] = static_cast<Out>(0);
      ++q;
      continue;
    }
    const int64_t lo = q > 0 ? q - 1 : 0;  // the zero before the segment, if any
    int64_t hi = q;
    while (hi < n && f[hi] != 0.0) ++hi;  // the zero after it, or n
    const int64_t end = std::min(hi + 1, n);
    envelopeSegment<kRoot>(f + lo, end - lo, 0, end - lo, spacing, s, out + lo * stride, stride);
    q = end;
  }
}

// The two-sided transform of the scratch's line f[0, n) (each element's own side's squared
// distances so far) into out: each run of equal mask values (mask[q·maskStride] zero or not)
// takes the envelope between its neighbours of the other value, whose f is 0 for this side.
template <bool kRoot, class Out>
void otherSideLine(const uint8_t* mask, int64_t maskStride, int64_t n, double spacing, LineScratch& s, Out* out,
                   int64_t stride) {
  double* f = s.f.data();
  int64_t a = 0;
  while (a < n) {
    const bool side = mask[a * maskStride] != 0;
    int64_t b = a + 1;
    while (b < n && (mask[b * maskStride] != 0) == side) ++b;
    const int64_t lo = a > 0 ? a - 1 : 0;
    const int64_t end = b < n ? b + 1 : n;
    if (a > 0) f[a - 1] = 0.0;  // the left neighbour (its own run is done)
    const double right = b < n ? f[b] : 0.0;
    if (b < n) f[b] = 0.0;  // the right neighbour, restored for its own run
    envelopeSegment<kRoot>(f + lo, end - lo, a - lo, b - lo, spacing, s, out + lo * stride, stride);
    if (b < n) f[b] = right;
    a = b;
  }
}

// The shape of the batch's maps and the passes over one map.
struct MapPasses {
  const GridShape& grid;
  Measure measure;

  int64_t planeSize() const { return grid.height * grid.width; }
  // The outermost spatial axis (scanned first): D in 3-D, H in 2-D.
  int64_t scanLength() const { return grid.spatialDims == 3 ? grid.depth : grid.height; }
  int64_t scanInner() const { return grid.spatialDims == 3 ? planeSize() : grid.width; }
  double scanSpacing() const { return grid.spatialDims == 3 ? grid.spacing[0] : grid.spacing[1]; }
  // Units of the line passes: rows (2-D) or D-planes (3-D).
  int64_t lineUnits() const { return grid.spatialDims == 3 ? grid.depth : grid.height; }

  void scan(const uint8_t* data, int64_t j0, int64_t j1, int32_t* steps) const {
    switch (measure) {
      case Measure::ToZeroElements: return scanSteps<Measure::ToZeroElements>(data, scanLength(), scanInner(), j0, j1, steps);
      case Measure::ToNonZeroElements: return scanSteps<Measure::ToNonZeroElements>(data, scanLength(), scanInner(), j0, j1, steps);
      case Measure::ToOtherSide: return scanSteps<Measure::ToOtherSide>(data, scanLength(), scanInner(), j0, j1, steps);
    }
  }

  // The envelope pass of one line of s.f into out (mask: the line's mask elements, maskStride apart).
  template <bool kRoot, class Out>
  void line(const uint8_t* mask, int64_t maskStride, int64_t n, double spacing, LineScratch& s, Out* out,
            int64_t stride) const {
    if (measure == Measure::ToOtherSide) return otherSideLine<kRoot>(mask, maskStride, n, spacing, s, out, stride);
    envelopeLine<kRoot>(n, spacing, s, out, stride);
  }

  // The remaining passes of unit u (a row in 2-D, a D-plane in 3-D) of one map.
  template <bool kRoot, class Out>
  void lines(const uint8_t* data, const int32_t* steps, int64_t u, LineScratch& s, Out* out) const {
    const int64_t h = grid.height, w = grid.width;
    if (grid.spatialDims == 2) {
      squaredStepsLine(steps + u * w, w, 1, grid.spacing[1], s.f.data());
      line<kRoot>(data + u * w, 1, w, grid.spacing[2], s, out + u * w, 1);
      return;
    }
    const int32_t* planeSteps = steps + u * h * w;
    const uint8_t* planeData = data + u * h * w;
    double* plane = s.plane.data();
    for (int64_t x = 0; x < w; ++x) {  // along H, column by column
      squaredStepsLine(planeSteps + x, h, w, grid.spacing[0], s.f.data());
      line<false>(planeData + x, w, h, grid.spacing[1], s, plane + x, w);
    }
    for (int64_t y = 0; y < h; ++y) {  // along W, row by row
      std::copy(plane + y * w, plane + (y + 1) * w, s.f.begin());
      line<kRoot>(planeData + y * w, 1, w, grid.spacing[2], s, out + (u * h + y) * w, 1);
    }
  }

  LineScratch scratch() const {
    const int64_t longest = std::max({grid.depth, grid.height, grid.width});
    return LineScratch(longest, grid.spatialDims == 3 ? planeSize() : 0);
  }

  // Every pass of one map on the calling thread.
  template <bool kRoot, class Out>
  void wholeMap(const uint8_t* data, int32_t* steps, LineScratch& s, Out* out) const {
    scan(data, 0, scanInner(), steps);
    for (int64_t u = 0; u < lineUnits(); ++u) lines<kRoot>(data, steps, u, s, out);
  }

  // One map, each pass split over workers (`scratch` holds one LineScratch per possible worker).
  template <bool kRoot, class Out>
  void splitMap(const uint8_t* data, int32_t* steps, std::vector<LineScratch>& scratch, Out* out) const {
    const int64_t inner = scanInner();
    // Chunks small enough for every worker to get a few, large enough to vectorise.
    const int64_t chunk = std::clamp<int64_t>((inner / (4 * cpuEngineThreads()) + 15) / 16 * 16, 64, kScanChunk);
    const int64_t chunks = (inner + chunk - 1) / chunk;
    parallelRanges(chunks, workersFor(chunks, scanLength() * std::min(inner, chunk)), [&](int, int64_t b, int64_t e) {
      scan(data, b * chunk, std::min(inner, e * chunk), steps);
    });
    const int64_t units = lineUnits();
    const int workers = std::min<int>(workersFor(units, grid.voxels() / units), static_cast<int>(scratch.size()));
    parallelRanges(units, workers, [&](int w, int64_t b, int64_t e) {
      for (int64_t u = b; u < e; ++u) lines<kRoot>(data, steps, u, scratch[w], out);
    });
  }
};

// One array of n elements per worker, from the batch-buffer pool (reused blocks: no page faults or
// zeroing once a call of the same size has run), allocated on the calling thread (a worker must
// not throw); each is written in full before it is read.
template <typename T>
std::vector<BatchArray<T>> workerArrays(int workers, int64_t n) {
  std::vector<BatchArray<T>> arrays;
  arrays.reserve(static_cast<size_t>(workers));
  for (int w = 0; w < workers; ++w) arrays.emplace_back(static_cast<size_t>(n), BufferFill::Overwritten);
  return arrays;
}

// Per-worker buffers, allocated on the calling thread (a worker must not throw).
std::vector<LineScratch> lineScratches(const MapPasses& passes, int workers) {
  std::vector<LineScratch> scratch;
  scratch.reserve(static_cast<size_t>(workers));
  for (int w = 0; w < workers; ++w) scratch.push_back(passes.scratch());
  return scratch;
}

// One transform to run: of the map `mask`, into out.
template <class Out>
struct TransformJob {
  const uint8_t* mask;
  Out* out;
};

// Runs the jobs' transforms: whole maps per worker when there are at least as many jobs as
// threads, else each map's passes split over the workers.
template <bool kRoot, class Out>
void runTransformJobs(const std::vector<TransformJob<Out>>& jobs, const MapPasses& passes) {
  if (jobs.empty()) return;
  const int64_t n = passes.grid.voxels();
  const int64_t count = static_cast<int64_t>(jobs.size());
  if (count >= cpuEngineThreads()) {
    const int workers = workersFor(count, n);
    std::vector<BatchArray<int32_t>> steps = workerArrays<int32_t>(workers, n);
    std::vector<LineScratch> scratch = lineScratches(passes, workers);
    parallelRanges(count, workers, [&](int w, int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) passes.wholeMap<kRoot>(jobs[k].mask, steps[w].data, scratch[w], jobs[k].out);
    });
    return;
  }
  BatchArray<int32_t> steps(static_cast<size_t>(n), BufferFill::Overwritten);
  std::vector<LineScratch> scratch = lineScratches(passes, workersFor(passes.lineUnits(), n / passes.lineUnits()));
  for (const TransformJob<Out>& job : jobs) passes.splitMap<kRoot>(job.mask, steps.data, scratch, job.out);
}

void checkExtents(const GridShape& grid, int64_t maps) {
  checkGrid(grid);
  if (grid.depth >= kNoFeature || grid.height >= kNoFeature || grid.width >= kNoFeature) {
    throw GeometryArgumentError("extents must be < 2^30");
  }
  if (maps < 0) throw GeometryArgumentError("maps must be ≥ 0");
}

template <bool kRoot, class Out>
void distancePasses(const uint8_t* data, Measure measure, int64_t maps, const GridShape& grid, Out* out) {
  checkExtents(grid, maps);
  const int64_t n = grid.voxels();
  std::vector<TransformJob<Out>> jobs;
  for (int64_t m = 0; m < maps; ++m) jobs.push_back({data + m * n, out + m * n});
  runTransformJobs<kRoot>(jobs, MapPasses{grid, measure});
}

// Whether a mask has elements on both sides (non-zero and zero).
bool hasBothSides(const uint8_t* mask, int64_t n) {
  bool inside = false, outside = false;
  for (int64_t i = 0; i < n && !(inside && outside); ++i) (mask[i] ? inside : outside) = true;
  return inside && outside;
}

// Independent masks: the two-sided transform of every mask with both sides.
void otherSideOfIndependentMasks(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out, uint8_t* defined) {
  const int64_t n = grid.voxels();
  std::vector<TransformJob<double>> jobs;  // the maps with both sides
  for (int64_t m = 0; m < maps; ++m) {
    defined[m] = hasBothSides(mask + m * n, n);
    if (defined[m]) jobs.push_back({mask + m * n, out + m * n});
  }
  runTransformJobs<true>(jobs, MapPasses{grid, Measure::ToOtherSide});
}

// Calls body(i0, i1) over [0, n) in element ranges, on the pool's workers.
template <class Body>
void overElements(int64_t n, const Body& body) {
  constexpr int64_t kChunk = 8192;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallelRanges(chunks, workersFor(chunks, kChunk), [&](int, int64_t b, int64_t e) { body(b * kChunk, std::min(n, e * kChunk)); });
}

// How many elements of a group of `classes` masks each mask holds (count[c]) and how many no
// mask holds (count[classes]); false when two masks overlap (the group is not disjoint). holders
// gets, per element, the number of masks holding it.
bool countDisjointMasks(const uint8_t* masks, int64_t classes, int64_t n, BatchArray<uint8_t>& holders,
                        std::vector<int64_t>& count) {
  holders = BatchArray<uint8_t>(static_cast<size_t>(n));  // zeros
  count.assign(static_cast<size_t>(classes + 1), 0);
  uint8_t* __restrict held = holders.data;
  for (int64_t c = 0; c < classes; ++c) {
    const uint8_t* __restrict m = masks + c * n;
    int64_t total = 0;
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t in = m[i] != 0;
      held[i] = static_cast<uint8_t>(held[i] + in);  // ≤ classes of 255 before a wrap could hide an overlap
      total += in;
    }
    count[static_cast<size_t>(c)] = total;
    if (c >= 254) {  // past 254 masks the byte counts could wrap: check now
      for (int64_t i = 0; i < n; ++i) {
        if (held[i] > 1) return false;
      }
    }
  }
  uint8_t overlap = 0;
  int64_t none = 0;
  for (int64_t i = 0; i < n; ++i) {
    overlap |= static_cast<uint8_t>(held[i] > 1);
    none += held[i] == 0;
  }
  count[static_cast<size_t>(classes)] = none;
  return overlap == 0;
}

// inside[i] = min(inside[i], d[i]) where d[i] > 0: d is the squared transform of one set, 0 exactly
// on the set's own elements (spacings ≥ kMinSpacing keep every other value > 0).
void nearestOtherSet(const double* __restrict d, int64_t i0, int64_t i1, double* __restrict inside) {
  for (int64_t i = i0; i < i1; ++i) {
    const double v = d[i] > 0.0 ? d[i] : kInf;
    inside[i] = v < inside[i] ? v : inside[i];
  }
}

// d[i] = sqrt(d[i] == 0 ? inside[i] : d[i]): an element of the set (d = 0) gets its distance to
// the nearest element outside the set, every other one its distance to the set.
void rootOfOwnOrOther(const double* __restrict inside, int64_t i0, int64_t i1, double* __restrict d) {
  for (int64_t i = i0; i < i1; ++i) {
    const double own = inside[i], other = d[i];  // both loaded: a select, not a branch
    d[i] = std::sqrt(other == 0.0 ? own : other);
  }
}

// Disjoint masks (the classes of one image; elements in none of them, such as ignored pixels,
// form one more set, the holes): the distance from an element outside class c to c is the
// transform of c's mask, and the distance from an element of c to the nearest element not in c is
// the smallest of its distances to the other sets. So one transform per set replaces the two per
// class; exact (the minimum over a union of feature sets is the distance to the union). An
// element's own set is the one whose transform is 0 there, so the passes need no labels.
void otherSideOfDisjointMasks(const uint8_t* masks, int64_t classes, const GridShape& grid, const BatchArray<uint8_t>& holders,
                              const std::vector<int64_t>& count, double* out, uint8_t* defined) {
  const int64_t n = grid.voxels();
  std::vector<TransformJob<double>> jobs;
  for (int64_t c = 0; c < classes; ++c) {
    defined[c] = count[c] > 0 && count[c] < n;
    if (count[c] > 0 && count[c] < n) jobs.push_back({masks + c * n, out + c * n});  // sets that can be nearest
  }
  if (jobs.empty()) return;
  // inside[i]: the squared distance to the holes (their transform, written here) or +inf, then
  // the minimum over the other sets
  BatchArray<double> inside(static_cast<size_t>(n), BufferFill::Overwritten);
  BatchArray<uint8_t> holes;
  if (count[classes] > 0) {
    holes = BatchArray<uint8_t>(static_cast<size_t>(n), BufferFill::Overwritten);
    for (int64_t i = 0; i < n; ++i) holes.data[i] = holders.data[i] == 0;
    jobs.push_back({holes.data, inside.data});
  } else {
    std::fill(inside.data, inside.data + n, kInf);
  }
  runTransformJobs<false>(jobs, MapPasses{grid, Measure::ToNonZeroElements});
  overElements(n, [&](int64_t i0, int64_t i1) {
    for (int64_t c = 0; c < classes; ++c) {
      if (defined[c]) nearestOtherSet(out + c * n, i0, i1, inside.data);
    }
    for (int64_t c = 0; c < classes; ++c) {
      if (defined[c]) rootOfOwnOrOther(inside.data, i0, i1, out + c * n);
    }
  });
}

}  // namespace

void squaredDistanceToFeatures(const uint8_t* data, FeatureRule rule, int64_t maps, const GridShape& grid,
                               double* out) {
  distancePasses<false>(data, rule == FeatureRule::NonZeroElements ? Measure::ToNonZeroElements : Measure::ToZeroElements, maps, grid, out);
}

void euclideanDistanceTransform(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out) {
  distancePasses<true>(mask, Measure::ToZeroElements, maps, grid, out);
}

void euclideanDistanceTransform(const uint8_t* mask, int64_t maps, const GridShape& grid, float* out) {
  distancePasses<true>(mask, Measure::ToZeroElements, maps, grid, out);
}

}  // namespace segloss::geometry

namespace segloss::geometry {

void distanceToOtherSide(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out, uint8_t* defined,
                         int64_t disjointGroup) {
  checkExtents(grid, maps);
  if (disjointGroup <= 1) return otherSideOfIndependentMasks(mask, maps, grid, out, defined);
  if (maps % disjointGroup != 0) throw GeometryArgumentError("maps must be a multiple of the disjoint group's size");
  const int64_t n = grid.voxels();
  const auto group = [&](int64_t g) {  // maps [g, g + disjointGroup)
    BatchArray<uint8_t> holders;
    std::vector<int64_t> count;
    const uint8_t* masks = mask + g * n;
    if (countDisjointMasks(masks, disjointGroup, n, holders, count)) {
      otherSideOfDisjointMasks(masks, disjointGroup, grid, holders, count, out + g * n, defined + g);
    } else {
      otherSideOfIndependentMasks(masks, disjointGroup, grid, out + g * n, defined + g);
    }
  };
  const int64_t groups = maps / disjointGroup;
  if (groups < cpuEngineThreads()) {
    for (int64_t k = 0; k < groups; ++k) group(k * disjointGroup);
    return;
  }
  // Whole groups per worker (their inner passes then run on the worker's own thread).
  std::vector<std::exception_ptr> failed(static_cast<size_t>(groups));
  parallelRanges(groups, workersFor(groups, disjointGroup * n), [&](int, int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      try {  // a pool worker must not throw: rethrown on the calling thread
        const EngineThreadLimit serial(1);  // the group's passes take their one-thread paths
        group(k * disjointGroup);
      } catch (...) {
        failed[static_cast<size_t>(k)] = std::current_exception();
      }
    }
  });
  for (const std::exception_ptr& error : failed) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace segloss::geometry
