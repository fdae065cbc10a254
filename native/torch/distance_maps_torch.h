// The core's exact distance transform and the boundary losses' distance maps on libtorch CPU
// tensors, for native training code, and a cache of the maps that depend on the target only.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <mutex>

#include <ATen/ATen.h>

namespace segloss::torch_ops {

// Which trailing dimensions are spatial, and their physical spacing.
struct TorchGridOptions {
  int spatialDims = 2;                     // 2: [..., H, W]; 3: [..., D, H, W]
  std::array<double, 3> spacing{1, 1, 1};  // along D, H, W (D unused in 2-D)
};

// Exact EDT (scipy's distance_transform_edt; +inf for a map without zero element) of every map of
// mask [..., (D,) H, W] (CPU, any dtype, non-zero = inside). Returns the mask's shape, `dtype`
// kDouble or kFloat.
at::Tensor distanceTransform(const at::Tensor& mask, const TorchGridOptions& options, at::ScalarType dtype = at::kDouble);

// The per-class maps of native/core/geometry/distance_maps.h.
enum class TargetMap : int { Boundary, RegionWise, HausdorffDT, DistancePenalty };

// For labels target [B, (D,) H, W] (CPU, integer), the map of mask (target[b] == c) for each image
// b and class c in [0, classes): [B, classes, (D,) H, W] kDouble. Labels outside [0, classes)
// (an ignore index) belong to no class.
at::Tensor classDistanceMaps(const at::Tensor& target, int64_t classes, TargetMap kind, const TorchGridOptions& options);

// classDistanceMaps computed once per target tensor and version: an entry matches when the target
// is the same tensor (same TensorImpl and data pointer; the entry keeps a reference, so the memory
// cannot be reused by another tensor) at the same version counter (any in-place write, through any
// view, bumps it), with the same classes, kind and options. Least recently used entries beyond
// `capacity` are dropped. Thread-safe.
class TargetMapCache {
 public:
  explicit TargetMapCache(size_t capacity = 8) : capacity_(capacity) {}

  // The maps of `target` (computed on a miss). The returned tensor must not be modified. An
  // inference tensor (no version counter) is never cached: every call computes.
  at::Tensor get(const at::Tensor& target, int64_t classes, TargetMap kind, const TorchGridOptions& options);

  int64_t hits() const;
  int64_t misses() const;

 private:
  struct Entry {
    at::Tensor target;  // keeps the key's memory alive
    int64_t version = 0;
    int64_t classes = 0;
    TargetMap kind = TargetMap::Boundary;
    TorchGridOptions options;
    at::Tensor maps;
  };
  bool matches(const Entry& entry, const at::Tensor& target, int64_t classes, TargetMap kind,
               const TorchGridOptions& options) const;

  size_t capacity_;
  std::list<Entry> entries_;  // most recently used first
  int64_t hits_ = 0;
  int64_t misses_ = 0;
  mutable std::mutex mutex_;
};

}  // namespace segloss::torch_ops
