// Distance transforms and target maps on libtorch tensors (distance_maps_torch.h).
#include "distance_maps_torch.h"

#include <stdexcept>
#include <vector>

#include "../core/geometry/distance_maps.h"
#include "../core/geometry/distance_transform.h"

namespace segloss::torch_ops {
namespace {

// The grid of the trailing spatial dimensions of `t`, and the number of maps before them.
geometry::GridShape gridOf(const at::Tensor& t, const TorchGridOptions& options, int64_t& maps) {
  if (options.spatialDims != 2 && options.spatialDims != 3) throw std::invalid_argument("spatialDims must be 2 or 3");
  if (t.dim() < options.spatialDims) throw std::invalid_argument("tensor has fewer dimensions than spatialDims");
  if (!t.device().is_cpu()) throw std::invalid_argument("distance maps run on CPU tensors");
  geometry::GridShape grid;
  grid.spatialDims = options.spatialDims;
  const int64_t rank = t.dim();
  grid.width = t.size(rank - 1);
  grid.height = t.size(rank - 2);
  grid.depth = options.spatialDims == 3 ? t.size(rank - 3) : 1;
  grid.spacing = options.spacing;
  maps = 1;
  for (int64_t d = 0; d < rank - options.spatialDims; ++d) maps *= t.size(d);
  return grid;
}

// 0/1 uint8, contiguous.
at::Tensor binaryBytes(const at::Tensor& mask) { return mask.ne(0).to(at::kByte).contiguous(); }

void runClassMap(TargetMap kind, const uint8_t* masks, int64_t maps, const geometry::GridShape& grid, double* out) {
  switch (kind) {
    case TargetMap::Boundary: return geometry::boundarySignedDistance(masks, maps, grid, out);
    case TargetMap::RegionWise: return geometry::regionWiseRectifiedMap(masks, maps, grid, out);
    case TargetMap::HausdorffDT: return geometry::hausdorffDistanceMap(masks, maps, grid, out);
    case TargetMap::DistancePenalty: return geometry::distancePenaltyMap(masks, maps, grid, out);
  }
  throw std::invalid_argument("unknown target map");
}

}  // namespace

at::Tensor distanceTransform(const at::Tensor& mask, const TorchGridOptions& options, at::ScalarType dtype) {
  int64_t maps = 0;
  const geometry::GridShape grid = gridOf(mask, options, maps);
  const at::Tensor bytes = binaryBytes(mask);
  if (dtype == at::kFloat) {
    at::Tensor out = at::empty(mask.sizes(), at::TensorOptions().dtype(at::kFloat));
    geometry::euclideanDistanceTransform(bytes.data_ptr<uint8_t>(), maps, grid, out.data_ptr<float>());
    return out;
  }
  if (dtype != at::kDouble) throw std::invalid_argument("distanceTransform returns kDouble or kFloat");
  at::Tensor out = at::empty(mask.sizes(), at::TensorOptions().dtype(at::kDouble));
  geometry::euclideanDistanceTransform(bytes.data_ptr<uint8_t>(), maps, grid, out.data_ptr<double>());
  return out;
}

at::Tensor classDistanceMaps(const at::Tensor& target, int64_t classes, TargetMap kind, const TorchGridOptions& options) {
  if (classes < 1) throw std::invalid_argument("classes must be ≥ 1");
  if (at::isFloatingType(target.scalar_type()) || target.scalar_type() == at::kBool) {
    throw std::invalid_argument("target must hold integer labels");
  }
  if (target.dim() != options.spatialDims + 1) throw std::invalid_argument("target must be [B, (D,) H, W]");
  int64_t batch = 0;
  const geometry::GridShape grid = gridOf(target, options, batch);
  // [B, C, (D,) H, W] one-hot bytes: (target[b] == c).
  std::vector<int64_t> classShape(static_cast<size_t>(target.dim() + 1), 1);
  classShape[1] = classes;
  const at::Tensor ids = at::arange(classes, at::TensorOptions().dtype(at::kLong)).view(classShape);
  const at::Tensor masks = target.to(at::kLong).unsqueeze(1).eq(ids).to(at::kByte).contiguous();
  at::Tensor out = at::empty(masks.sizes(), at::TensorOptions().dtype(at::kDouble));
  runClassMap(kind, masks.data_ptr<uint8_t>(), batch * classes, grid, out.data_ptr<double>());
  return out;
}

bool TargetMapCache::matches(const Entry& entry, const at::Tensor& target, int64_t classes, TargetMap kind,
                             const TorchGridOptions& options) const {
  return entry.target.unsafeGetTensorImpl() == target.unsafeGetTensorImpl() &&
         entry.target.data_ptr() == target.data_ptr() && entry.version == target._version() &&
         entry.classes == classes && entry.kind == kind && entry.options.spatialDims == options.spatialDims &&
         entry.options.spacing == options.spacing;
}

at::Tensor TargetMapCache::get(const at::Tensor& target, int64_t classes, TargetMap kind, const TorchGridOptions& options) {
  if (target.is_inference()) {
    at::Tensor maps = classDistanceMaps(target, classes, kind, options);
    std::lock_guard<std::mutex> lock(mutex_);
    ++misses_;
    return maps;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (!matches(*it, target, classes, kind, options)) continue;
      entries_.splice(entries_.begin(), entries_, it);
      ++hits_;
      return entries_.front().maps;
    }
  }
  const int64_t version = target._version();
  at::Tensor maps = classDistanceMaps(target, classes, kind, options);
  std::lock_guard<std::mutex> lock(mutex_);
  ++misses_;
  // Entries of this tensor at older versions can never match again.
  entries_.remove_if([&](const Entry& e) { return e.target.unsafeGetTensorImpl() == target.unsafeGetTensorImpl() && e.version != version; });
  entries_.push_front(Entry{target, version, classes, kind, options, maps});
  while (entries_.size() > capacity_) entries_.pop_back();
  return maps;
}

int64_t TargetMapCache::hits() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

int64_t TargetMapCache::misses() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return misses_;
}

}  // namespace segloss::torch_ops
