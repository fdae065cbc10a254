// DSC, HD95, confusion matrix and IoU (segmentation_metrics.h).
#include "segmentation_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "../parallel_cpu.h"
#include "distance_transform.h"
#include "morphology.h"

namespace segloss::geometry {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Half-open box [lo, hi) per axis D, H, W.
struct Box {
  std::array<int64_t, 3> lo{0, 0, 0};
  std::array<int64_t, 3> hi{0, 0, 0};
  bool empty() const { return hi[0] <= lo[0]; }
};

// Bounding box of the elements inside pred or target.
Box unionBoundingBox(const uint8_t* pred, const uint8_t* target, const GridShape& grid) {
  const int64_t d = grid.depth, h = grid.height, w = grid.width;
  Box box{{d, h, w}, {0, 0, 0}};
  for (int64_t z = 0; z < d; ++z) {
    for (int64_t y = 0; y < h; ++y) {
      const int64_t row = (z * h + y) * w;
      int64_t first = -1, last = -1;
      for (int64_t x = 0; x < w; ++x) {
        if (pred[row + x] | target[row + x]) {
          if (first < 0) first = x;
          last = x;
        }
      }
      if (first < 0) continue;
      box.lo = {std::min(box.lo[0], z), std::min(box.lo[1], y), std::min(box.lo[2], first)};
      box.hi = {std::max(box.hi[0], z + 1), std::max(box.hi[1], y + 1), std::max(box.hi[2], last + 1)};
    }
  }
  return box;
}

// mask restricted to the box, as 0/1: [box D, box H, box W].
std::vector<uint8_t> cropMask(const uint8_t* mask, const GridShape& grid, const Box& box) {
  const int64_t bd = box.hi[0] - box.lo[0], bh = box.hi[1] - box.lo[1], bw = box.hi[2] - box.lo[2];
  std::vector<uint8_t> out(static_cast<size_t>(bd * bh * bw));
  uint8_t* o = out.data();
  for (int64_t z = box.lo[0]; z < box.hi[0]; ++z) {
    for (int64_t y = box.lo[1]; y < box.hi[1]; ++y, o += bw) {
      const uint8_t* row = mask + (z * grid.height + y) * grid.width + box.lo[2];
      for (int64_t x = 0; x < bw; ++x) o[x] = row[x] != 0;
    }
  }
  return out;
}

GridShape boxGrid(const GridShape& grid, const Box& box) {
  GridShape g = grid;
  g.depth = box.hi[0] - box.lo[0];
  g.height = box.hi[1] - box.lo[1];
  g.width = box.hi[2] - box.lo[2];
  return g;
}

// Appends the squared distances from each voxel of `from` to the nearest voxel of `to` (both
// surfaces on the same grid); `distance` is scratch of the grid's size.
void appendDirectedSquaredDistances(const std::vector<uint8_t>& from, const std::vector<uint8_t>& to,
                                    const GridShape& grid, std::vector<double>& distance, std::vector<double>& out) {
  squaredDistanceToFeatures(to.data(), FeatureRule::NonZeroElements, 1, grid, distance.data());
  for (size_t i = 0; i < from.size(); ++i) {
    if (from[i]) out.push_back(distance[i]);
  }
}

// numpy's _lerp: a + (b − a)·t, computed from b when t ≥ 0.5.
double numpyLerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

// The order statistics at floor(v) and floor(v) + 1 (clamped) of `values`, v = (n − 1)·q/100,
// with the interpolation weight; `transform` maps them (monotone) before interpolating.
template <class Transform>
double interpolatedOrderStatistic(std::vector<double>& values, double q, const Transform& transform) {
  const int64_t n = static_cast<int64_t>(values.size());
  const double virtualIndex = static_cast<double>(n - 1) * (q / 100.0);
  const int64_t below = std::clamp<int64_t>(static_cast<int64_t>(std::floor(virtualIndex)), 0, n - 1);
  const int64_t above = std::min(below + 1, n - 1);
  const double gamma = virtualIndex - static_cast<double>(below);
  std::nth_element(values.begin(), values.begin() + below, values.end());
  const double a = values[below];
  const double b = above == below ? a : *std::min_element(values.begin() + below + 1, values.end());
  return numpyLerp(transform(a), transform(b), gamma);
}

template <class Label>
void classMask(const Label* labels, int64_t n, int64_t c, std::vector<uint8_t>& out) {
  out.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<int64_t>(labels[i]) == c;
}

}  // namespace

MaskPairCounts countMaskPair(const uint8_t* pred, const uint8_t* target, int64_t n) {
  MaskPairCounts c;
  for (int64_t i = 0; i < n; ++i) {
    const bool p = pred[i] != 0, t = target[i] != 0;
    c.prediction += p;
    c.target += t;
    c.intersection += p & t;
  }
  return c;
}

double diceCoefficient(const MaskPairCounts& counts) {
  const int64_t sizes = counts.prediction + counts.target;
  return sizes == 0 ? 0.0 : 2.0 * static_cast<double>(counts.intersection) / static_cast<double>(sizes);
}

double linearPercentile(std::vector<double>& values, double q) {
  if (values.empty()) throw GeometryArgumentError("percentile of an empty set");
  return interpolatedOrderStatistic(values, q, [](double v) { return v; });
}

double hausdorffDistance95(const uint8_t* pred, const uint8_t* target, const GridShape& grid) {
  checkGrid(grid);
  const Box box = unionBoundingBox(pred, target, grid);
  if (box.empty()) throw GeometryArgumentError("hd95 needs two non-empty masks");
  const GridShape g = boxGrid(grid, box);
  const std::vector<uint8_t> p = cropMask(pred, grid, box), t = cropMask(target, grid, box);
  std::vector<uint8_t> surfaceP(p.size()), surfaceT(t.size());
  innerBoundary(p.data(), 1, g, Connectivity::Face, surfaceP.data());
  innerBoundary(t.data(), 1, g, Connectivity::Face, surfaceT.data());
  std::vector<double> pooled, distance(p.size());
  appendDirectedSquaredDistances(surfaceP, surfaceT, g, distance, pooled);
  appendDirectedSquaredDistances(surfaceT, surfaceP, g, distance, pooled);
  if (pooled.empty()) throw GeometryArgumentError("hd95 needs two non-empty masks");
  // Selecting on squared distances and taking roots of the two picks gives the same order.
  const double hd95 = interpolatedOrderStatistic(pooled, 95.0, [](double v) { return std::sqrt(v); });
  if (!std::isfinite(hd95)) throw GeometryArgumentError("hd95 needs two non-empty masks");
  return hd95;
}

namespace {

// (dice, hd95) when at least one mask is empty.
CaseMetrics emptyCaseMetrics(bool hasPred, bool hasTarget, EmptyMaskPolicy policy) {
  if (policy == EmptyMaskPolicy::TransUNet) return hasPred ? CaseMetrics{1.0, 0.0} : CaseMetrics{0.0, 0.0};
  return hasPred == hasTarget ? CaseMetrics{1.0, 0.0} : CaseMetrics{0.0, kInf};
}

}  // namespace

double caseDice(const uint8_t* pred, const uint8_t* target, int64_t n, EmptyMaskPolicy policy) {
  const MaskPairCounts counts = countMaskPair(pred, target, n);
  if (counts.prediction > 0 && counts.target > 0) return diceCoefficient(counts);
  return emptyCaseMetrics(counts.prediction > 0, counts.target > 0, policy).dice;
}

CaseMetrics caseMetrics(const uint8_t* pred, const uint8_t* target, const GridShape& grid, EmptyMaskPolicy policy) {
  const MaskPairCounts counts = countMaskPair(pred, target, grid.voxels());
  const bool hasPred = counts.prediction > 0, hasTarget = counts.target > 0;
  if (hasPred && hasTarget) return {diceCoefficient(counts), hausdorffDistance95(pred, target, grid)};
  return emptyCaseMetrics(hasPred, hasTarget, policy);
}

template <class Label>
void volumeCaseMetrics(const Label* pred, const Label* target, const GridShape& grid, int64_t classes,
                       EmptyMaskPolicy policy, CaseMetrics* out) {
  const int64_t n = grid.voxels();
  std::vector<uint8_t> p, t;
  for (int64_t c = 1; c < classes; ++c) {
    classMask(pred, n, c, p);
    classMask(target, n, c, t);
    out[c - 1] = caseMetrics(p.data(), t.data(), grid, policy);
  }
}

template <class Label>
void accumulateConfusionMatrix(const Label* pred, const Label* target, int64_t n, int64_t classes, bool hasIgnore,
                               int64_t ignoreIndex, double* matrix) {
  if (classes < 1) throw GeometryArgumentError("classes must be ≥ 1");
  const int64_t cells = classes * classes;
  const int workers = workersFor(n, 1);
  std::vector<int64_t> partial(static_cast<size_t>(workers * cells), 0);
  std::vector<uint8_t> invalid(static_cast<size_t>(workers), 0);
  parallelRanges(n, workers, [&](int worker, int64_t begin, int64_t end) {
    int64_t* counts = partial.data() + worker * cells;
    for (int64_t i = begin; i < end; ++i) {
      const int64_t t = static_cast<int64_t>(target[i]), p = static_cast<int64_t>(pred[i]);
      if (hasIgnore && t == ignoreIndex) continue;
      if (t < 0 || t >= classes || p < 0 || p >= classes) {
        invalid[worker] = 1;
        continue;
      }
      ++counts[t * classes + p];
    }
  });
  if (std::find(invalid.begin(), invalid.end(), 1) != invalid.end()) {
    throw GeometryArgumentError("a label is outside [0, classes)");
  }
  for (int w = 0; w < workers; ++w) {
    for (int64_t k = 0; k < cells; ++k) matrix[k] += static_cast<double>(partial[w * cells + k]);
  }
}

double meanIntersectionOverUnion(const double* matrix, int64_t classes, double* perClass) {
  double sum = 0;
  int64_t present = 0;
  for (int64_t c = 0; c < classes; ++c) {
    double row = 0, column = 0;
    for (int64_t k = 0; k < classes; ++k) {
      row += matrix[c * classes + k];
      column += matrix[k * classes + c];
    }
    const double tp = matrix[c * classes + c];
    const double unionCount = row + column - tp;
    perClass[c] = unionCount > 0 ? tp / unionCount : std::numeric_limits<double>::quiet_NaN();
    if (unionCount > 0) {
      sum += perClass[c];
      ++present;
    }
  }
  return present > 0 ? sum / static_cast<double>(present) : std::numeric_limits<double>::quiet_NaN();
}

#define SEGLOSS_METRICS_FOR_LABEL(Label)                                                                            \
  template void volumeCaseMetrics<Label>(const Label*, const Label*, const GridShape&, int64_t, EmptyMaskPolicy,   \
                                         CaseMetrics*);                                                            \
  template void accumulateConfusionMatrix<Label>(const Label*, const Label*, int64_t, int64_t, bool, int64_t, double*);
SEGLOSS_METRICS_FOR_LABEL(uint8_t)
SEGLOSS_METRICS_FOR_LABEL(uint16_t)
SEGLOSS_METRICS_FOR_LABEL(int32_t)
#undef SEGLOSS_METRICS_FOR_LABEL

}  // namespace segloss::geometry
