// boundary-aware (boundary_aware.h): the target's distance bins (exact EDT, cached per target),
// the binary-CE loss with its fused gradient, and the union-of-disks decoder.
#include "boundary_aware.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>

#include "../dispatch.h"
#include "../geometry/distance_transform.h"
#include "../parallel_cpu.h"

namespace segloss {
namespace {

void checkBinnedShape(const BinnedLossInput& in, const BoundaryAwareOptions& o) {
  if (const char* problem = o.invalid()) throw LossArgumentError(std::string("boundary-aware: ") + problem);
  const LossTensors& t = in.tensors;
  if (t.batch <= 0 || t.channels <= 0 || t.pixels <= 0) throw LossArgumentError("batch, channels and pixels must be positive");
  if (!t.logits || !t.target) throw LossArgumentError("logits and target must not be null");
  if (t.channels % o.bins != 0) {
    throw LossArgumentError("boundary-aware: " + std::to_string(t.channels) + " channels is not C·K for K = " +
                            std::to_string(o.bins) + " bins");
  }
  geometry::checkGrid(in.grid);
  if (in.grid.voxels() != t.pixels) throw LossArgumentError("boundary-aware: the grid does not hold N pixels");
}

// Labels as int32 with ignored pixels → −1; LossArgumentError naming the first bad flat index.
std::vector<int32_t> checkedLabels(const LossTensors& t, int64_t classes) {
  std::vector<int32_t> out(size_t(t.batch * t.pixels));
  dispatchLabel(t.labelType, [&](auto label) {
    using L = decltype(label);
    const L* target = static_cast<const L*>(t.target);
    for (size_t j = 0; j < out.size(); ++j) {
      const int64_t v = static_cast<int64_t>(target[j]);
      if (t.hasIgnore && v == t.ignoreIndex) {
        out[j] = -1;
      } else if (v < 0 || v >= classes) {
        throw LossArgumentError("label outside [0, K) at flat index " + std::to_string(j));
      } else {
        out[j] = static_cast<int32_t>(v);
      }
    }
  });
  return out;
}

std::vector<int8_t> computeTargetBins(const std::vector<int32_t>& labels, int64_t batch, int64_t classes,
                                      const geometry::GridShape& grid, const BoundaryAwareOptions& o) {
  const int64_t n = grid.voxels();
  std::vector<int8_t> bins(size_t(batch * classes * n), -1);
  std::vector<uint8_t> masks(size_t(classes * n));
  std::vector<double> distance(size_t(classes * n));
  geometry::GridShape unit = grid;
  unit.spacing = {1, 1, 1};
  for (int64_t b = 0; b < batch; ++b) {
    const int32_t* label = labels.data() + b * n;
    for (int64_t c = 0; c < classes; ++c) {
      uint8_t* mask = masks.data() + c * n;
      // ignored pixels are no source of the distance (not outside any class)
      for (int64_t i = 0; i < n; ++i) mask[i] = label[i] == c || label[i] < 0;
    }
    geometry::euclideanDistanceTransform(masks.data(), classes, unit, distance.data());  // +inf: no outside
    int8_t* out = bins.data() + b * classes * n;
    for (int64_t j = 0; j < classes * n; ++j) {
      if (label[j % n] != j / n) continue;  // outside class c = j / n, or ignored
      const double d = distance[j];
      const int ceilD = d >= o.radius ? o.radius : static_cast<int>(std::ceil(d));
      out[j] = static_cast<int8_t>(distanceBin(std::max(ceilD, 1), o));
    }
  }
  return bins;
}

// One cached target transform: the exact bytes of the target it was made from, and its key.
struct BinCache {
  std::mutex mutex;
  std::vector<uint8_t> targetBytes;
  LabelType labelType = LabelType::Int32;
  int64_t batch = 0, classes = 0, depth = 0, height = 0, width = 0;
  bool hasIgnore = false;
  int64_t ignoreIndex = 0;
  int bins = 0, radius = 0;
  std::vector<int8_t> result;
};

BinCache& binCache() {
  static BinCache cache;
  return cache;
}

size_t labelSize(LabelType type) {
  switch (type) {
    case LabelType::UInt8: return 1;
    case LabelType::UInt16: return 2;
    case LabelType::Int64: return 8;
    default: return 4;
  }
}

template <typename T>
double binnedLoss(const T* z, const std::vector<int32_t>& labels, const std::vector<int8_t>& bins, int64_t batch,
                  int64_t classes, int bins_, int64_t n, T* grad, double gradScale, bool* nonFinite) {
  int64_t valid = 0;
  for (const int32_t v : labels) valid += v >= 0;
  const int64_t rows = batch * classes * bins_;  // one row = (b, c, bin) over N pixels
  const double norm = valid > 0 ? 1.0 / (double(valid) * double(classes) * double(bins_)) : 0.0;
  const T g = static_cast<T>(norm * gradScale);
  const int workers = workersFor(rows, n);
  std::vector<double> partial(size_t(workers), 0.0);
  std::vector<char> bad(size_t(workers), 0);
  parallelRanges(rows, workers, [&](int w, int64_t first, int64_t last) {
    double sum = 0.0;
    bool badLogit = false;
    for (int64_t row = first; row < last; ++row) {
      const int64_t b = row / (classes * bins_);
      const int64_t c = (row / bins_) % classes;
      const int bin = static_cast<int>(row % bins_);
      const T* x = z + row * n;
      const int32_t* label = labels.data() + b * n;
      const int8_t* target = bins.data() + (b * classes + c) * n;
      T* out = grad ? grad + row * n : nullptr;
      double rowSum = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const T zi = x[i];
        badLogit |= !std::isfinite(zi);
        const bool isValid = label[i] >= 0;
        const T y = target[i] == bin ? T(1) : T(0);
        const T e = std::exp(-std::fabs(zi));                   // ∈ (0, 1]
        const T bce = std::max(zi, T(0)) - zi * y + std::log1p(e);
        const T sigma = zi >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
        rowSum += isValid ? double(bce) : 0.0;
        if (out) out[i] = isValid ? g * (sigma - y) : T(0);
      }
      sum += rowSum;
    }
    partial[size_t(w)] = sum;
    bad[size_t(w)] = badLogit;
  });
  double total = 0.0;
  for (int w = 0; w < workers; ++w) {
    total += partial[size_t(w)];
    *nonFinite |= bad[size_t(w)] != 0;
  }
  return total * norm;
}

// Offsets (in flat index units, with their per-axis displacement) of a closed ball of radius ρ.
struct BallOffset {
  int dz, dy, dx;
};
std::vector<BallOffset> ballOffsets(double radius, bool volume) {
  std::vector<BallOffset> out;
  const int r = static_cast<int>(std::floor(radius));
  const int rz = volume ? r : 0;
  for (int dz = -rz; dz <= rz; ++dz)
    for (int dy = -r; dy <= r; ++dy)
      for (int dx = -r; dx <= r; ++dx)
        if (double(dz * dz + dy * dy + dx * dx) <= radius * radius) out.push_back({dz, dy, dx});
  return out;
}

}  // namespace

std::vector<int8_t> boundaryAwareTargetBins(const BinnedLossInput& in, const BoundaryAwareOptions& o) {
  checkBinnedShape(in, o);
  const LossTensors& t = in.tensors;
  const int64_t classes = t.channels / o.bins;
  const size_t bytes = size_t(t.batch * t.pixels) * labelSize(t.labelType);
  BinCache& cache = binCache();
  {
    const std::lock_guard<std::mutex> lock(cache.mutex);
    if (cache.labelType == t.labelType && cache.batch == t.batch && cache.classes == classes &&
        cache.depth == in.grid.depth && cache.height == in.grid.height && cache.width == in.grid.width &&
        cache.hasIgnore == t.hasIgnore && (!t.hasIgnore || cache.ignoreIndex == t.ignoreIndex) && cache.bins == o.bins &&
        cache.radius == o.radius && cache.targetBytes.size() == bytes &&
        std::memcmp(cache.targetBytes.data(), t.target, bytes) == 0) {
      return cache.result;
    }
  }
  const std::vector<int32_t> labels = checkedLabels(t, classes);
  std::vector<int8_t> result = computeTargetBins(labels, t.batch, classes, in.grid, o);
  const std::lock_guard<std::mutex> lock(cache.mutex);
  const auto* first = static_cast<const uint8_t*>(t.target);
  cache.targetBytes.assign(first, first + bytes);
  cache.labelType = t.labelType;
  cache.batch = t.batch;
  cache.classes = classes;
  cache.depth = in.grid.depth;
  cache.height = in.grid.height;
  cache.width = in.grid.width;
  cache.hasIgnore = t.hasIgnore;
  cache.ignoreIndex = t.ignoreIndex;
  cache.bins = o.bins;
  cache.radius = o.radius;
  cache.result = result;
  return result;
}

double boundaryAwareLossCpu(const BinnedLossInput& in, const BoundaryAwareOptions& o, const LossGradient* grad) {
  checkBinnedShape(in, o);
  const LossTensors& t = in.tensors;
  const int64_t classes = t.channels / o.bins;
  const std::vector<int32_t> labels = checkedLabels(t, classes);
  const std::vector<int8_t> bins = boundaryAwareTargetBins(in, o);
  bool nonFinite = false;
  const double value = dispatchScalar(t.dtype, [&](auto scalar) {
    using T = decltype(scalar);
    T* out = grad ? static_cast<T*>(grad->data) : nullptr;
    return binnedLoss(static_cast<const T*>(t.logits), labels, bins, t.batch, classes, o.bins, t.pixels, out,
                      grad ? grad->scale : 1.0, &nonFinite);
  });
  if (nonFinite) throw LossArgumentError("non-finite logit at flat index " + std::to_string(findNonFiniteLogit(t)));
  return value;
}

void decodeBoundaryAwareCpu(const LossTensors& t, const geometry::GridShape& grid, const BoundaryAwareOptions& o,
                            int32_t* labels) {
  if (const char* problem = o.invalid()) throw LossArgumentError(std::string("boundary-aware: ") + problem);
  if (t.batch <= 0 || t.channels <= 0 || t.channels % o.bins != 0) {
    throw LossArgumentError("decodeBoundaryAware: channels must be C·K");
  }
  geometry::checkGrid(grid);
  const int64_t classes = t.channels / o.bins, n = grid.voxels();
  if (n != t.pixels) throw LossArgumentError("decodeBoundaryAware: the grid does not hold N pixels");
  const bool volume = grid.spatialDims == 3;
  std::vector<std::vector<BallOffset>> balls;
  for (int bin = 0; bin < o.bins; ++bin) balls.push_back(ballOffsets(binRadius(bin, o), volume));
  dispatchScalar(t.dtype, [&](auto scalar) {
    using T = decltype(scalar);
    const T* z = static_cast<const T*>(t.logits);
    std::vector<double> best(size_t(classes * n));  // [C, N] the largest bin logit
    std::vector<uint8_t> covered(size_t(classes * n));
    for (int64_t b = 0; b < t.batch; ++b) {
      std::fill(covered.begin(), covered.end(), 0);
      for (int64_t c = 0; c < classes; ++c) {
        const T* zc = z + (b * classes + c) * o.bins * n;
        double* m = best.data() + c * n;
        uint8_t* cover = covered.data() + c * n;
        for (int64_t i = 0; i < n; ++i) {
          int arg = 0;
          double top = double(zc[i]);
          for (int bin = 1; bin < o.bins; ++bin) {
            const double v = double(zc[bin * n + i]);
            if (v > top) top = v, arg = bin;
          }
          m[i] = top;
          if (!(top > 0.0)) continue;
          const int64_t x = i % grid.width, y = (i / grid.width) % grid.height, d = i / (grid.width * grid.height);
          for (const BallOffset& off : balls[size_t(arg)]) {
            const int64_t xx = x + off.dx, yy = y + off.dy, dd = d + off.dz;
            if (xx < 0 || yy < 0 || dd < 0 || xx >= grid.width || yy >= grid.height || dd >= grid.depth) continue;
            cover[(dd * grid.height + yy) * grid.width + xx] = 1;
          }
        }
      }
      int32_t* out = labels + b * n;
      for (int64_t i = 0; i < n; ++i) {
        int64_t pick = -1, fallback = 0;
        for (int64_t c = 0; c < classes; ++c) {
          const double v = best[size_t(c * n + i)];
          if (v > best[size_t(fallback * n + i)]) fallback = c;
          if (covered[size_t(c * n + i)] && (pick < 0 || v > best[size_t(pick * n + i)])) pick = c;
        }
        out[i] = static_cast<int32_t>(pick >= 0 ? pick : fallback);
      }
    }
  });
}

}  // namespace segloss
