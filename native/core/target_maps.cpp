// The target-only maps of the boundary-level losses and their cache (target_maps.h).
#include "target_maps.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <list>
#include <mutex>
#include <string>
#include <type_traits>

#include "dispatch.h"
#include "geometry/distance_maps.h"
#include "geometry/distance_transform.h"
#include "parallel_cpu.h"

namespace segloss {
namespace {

size_t labelBytes(LabelType type) {
  switch (type) {
    case LabelType::UInt8: return 1;
    case LabelType::UInt16: return 2;
    case LabelType::Int64: return 8;
    default: return 4;
  }
}

// mask[i] = (first ≤ label_i < last) for labels that are not ignored (0 ≤ first ≤ last ≤ 65536).
// Compared in 32 bits for labels of up to 32 bits (vectorised; int64 comparisons of narrow labels
// were not), and the ignore index only when it is in the range: outside it, an ignored label is
// out of range anyway, so `ignored` is then first − 1, which no label in the range equals.
void rangeMask(const void* labels, LabelType type, int64_t pixels, int64_t first, int64_t last, bool hasIgnore,
               int64_t ignoreIndex, uint8_t* out) {
  const bool ignoreInRange = hasIgnore && ignoreIndex >= first && ignoreIndex < last;
  dispatchLabel(type, [&](auto label) {
    using L = decltype(label);
    using Wide = std::conditional_t<(sizeof(L) < 8), int32_t, int64_t>;
    const L* __restrict t = static_cast<const L*>(labels);
    uint8_t* __restrict m = out;
    const Wide lo = static_cast<Wide>(first), hi = static_cast<Wide>(last);
    const Wide ignored = ignoreInRange ? static_cast<Wide>(ignoreIndex) : lo - 1;
    for (int64_t i = 0; i < pixels; ++i) {
      const Wide v = static_cast<Wide>(t[i]);
      m[i] = static_cast<uint8_t>((v >= lo) & (v < hi) & (v != ignored));
    }
  });
}

// SegLossOdyssey compute_edts_forPenalizedLoss per side: (M − d) / (M − min d), d the distance to
// the other side, M and min d over the side; 0 where the side is empty or the ratio is 0 / 0.
void odysseyPenalty(const uint8_t* mask, int64_t maps, const geometry::GridShape& grid, double* out) {
  const int64_t n = grid.voxels();
  std::vector<uint8_t> defined(static_cast<size_t>(maps));
  geometry::distanceToOtherSide(mask, maps, grid, out, defined.data());
  for (int64_t m = 0; m < maps; ++m) {
    const uint8_t* mm = mask + m * n;
    double* om = out + m * n;
    if (!defined[m]) {
      std::fill(om, om + n, 0.0);
      continue;
    }
    double maxIn = 0, minIn = 0, maxOut = 0, minOut = 0;
    bool anyIn = false, anyOut = false;
    for (int64_t i = 0; i < n; ++i) {
      if (mm[i]) {
        maxIn = anyIn ? std::max(maxIn, om[i]) : om[i];
        minIn = anyIn ? std::min(minIn, om[i]) : om[i];
        anyIn = true;
      } else {
        maxOut = anyOut ? std::max(maxOut, om[i]) : om[i];
        minOut = anyOut ? std::min(minOut, om[i]) : om[i];
        anyOut = true;
      }
    }
    for (int64_t i = 0; i < n; ++i) {
      const double max = mm[i] ? maxIn : maxOut;
      const double span = max - (mm[i] ? minIn : minOut);
      om[i] = span > 0.0 ? (max - om[i]) / span : 0.0;
    }
  }
}

// ABL's gt2boundary, inverted: out[i] = 0 where the label differs from the pixel below or to the
// right, or is the ignore index; 1 elsewhere (the non-boundary pixels, whose EDT is the distance to
// the boundary).
void nonBoundaryMask(const void* labels, LabelType type, const geometry::GridShape& grid, bool hasIgnore,
                     int64_t ignoreIndex, uint8_t* out) {
  dispatchLabel(type, [&](auto label) {
    using L = decltype(label);
    const L* t = static_cast<const L*>(labels);
    const int64_t h = grid.height, w = grid.width;
    for (int64_t r = 0; r < grid.depth * h; ++r) {  // per slice: no neighbour below a slice's last row
      for (int64_t c = 0; c < w; ++c) {
        const int64_t i = r * w + c;
        const bool down = (r % h) + 1 < h && t[i + w] != t[i];
        const bool right = c + 1 < w && t[i + 1] != t[i];
        const bool ignored = hasIgnore && static_cast<int64_t>(t[i]) == ignoreIndex;
        out[i] = !(down || right || ignored);
      }
    }
  });
}

// ⌊edt − 1⌋ off the boundary (ABL's int32 map), 0 on it and where there is no boundary; the 2-D
// EDT of every slice (a volume is D slices).
void activeBoundaryDistance(const uint8_t* nonBoundary, int64_t maps, const geometry::GridShape& grid, double* out) {
  const int64_t n = maps * grid.voxels();
  geometry::GridShape slice = grid;
  slice.spatialDims = 2;
  slice.depth = 1;
  slice.spacing = {1, grid.spacing[1], grid.spacing[2]};
  geometry::euclideanDistanceTransform(nonBoundary, maps * grid.depth, slice, out);
  // ⌊x⌋ of x = edt − 1 (≥ −1) from a truncating conversion, one less where that rounded a
  // negative x up (vectorised; std::floor is a libm call per element without SSE4.1); from 2^52
  // on every double is an integer already.
  constexpr double kIntegral = 4503599627370496.0;  // 2^52
  for (int64_t i = 0; i < n; ++i) {
    const double x = out[i] - 1.0;
    const double truncated = static_cast<double>(static_cast<int64_t>(std::min(x, kIntegral)));
    const double whole = truncated > x ? truncated - 1.0 : truncated;
    const double floored = x < kIntegral ? whole : x;
    out[i] = nonBoundary[i] && floored < std::numeric_limits<double>::infinity() ? floored : 0.0;
  }
}

// The masks the maps of `kind` are made from, for `images` images of target: [images, maps, N].
int64_t masksPerImage(TargetMapKind kind, int classes) {
  return kind == TargetMapKind::ForegroundPenalty || kind == TargetMapKind::ForegroundPenaltyOdyssey ||
                 kind == TargetMapKind::ActiveBoundaryDistance
             ? 1
             : classes;
}

void imageMasks(const void* labels, LabelType type, const TargetMapRequest& r, int64_t pixels, uint8_t* out) {
  if (r.kind == TargetMapKind::ActiveBoundaryDistance) {
    nonBoundaryMask(labels, type, r.grid, r.hasIgnore, r.ignoreIndex, out);
  } else if (masksPerImage(r.kind, r.classes) == 1) {
    rangeMask(labels, type, pixels, 1, r.classes, r.hasIgnore, r.ignoreIndex, out);
  } else {
    classMasks(labels, type, pixels, r.classes, r.hasIgnore, r.ignoreIndex, out);
  }
}

// InnerBoundaryCount straight from the labels: per class, its pixels with a face neighbour of
// another label or on the array's edge (the count of mask ∧ ¬erosion(mask), outside = 0, for each
// class mask; a pixel's class is its label when in [0, K) and not ignored, and a neighbour with the
// same label is then in the same class). One pass over the labels instead of K masks and K erosions.
void innerBoundaryCounts(const void* labels, LabelType type, const TargetMapRequest& r, double* out) {
  dispatchLabel(type, [&](auto label) {
    using L = decltype(label);
    const L* t = static_cast<const L*>(labels);
    const int64_t d = r.grid.depth, h = r.grid.height, w = r.grid.width;
    std::vector<int64_t> counts(static_cast<size_t>(r.classes), 0);
    std::vector<uint8_t> edge(static_cast<size_t>(w));
    for (int64_t z = 0; z < d; ++z) {
      for (int64_t y = 0; y < h; ++y) {
        const L* row = t + (z * h + y) * w;
        const bool outerRow = y == 0 || y == h - 1 || (r.grid.spatialDims == 3 && (z == 0 || z == d - 1));
        if (outerRow) {
          std::fill(edge.begin(), edge.end(), uint8_t(1));
        } else {
          const L* up = row - w;
          const L* down = row + w;
          const L* front = r.grid.spatialDims == 3 ? row - h * w : row;  // 2-D: the row itself (never differs)
          const L* back = r.grid.spatialDims == 3 ? row + h * w : row;
          edge[0] = 1;
          edge[w - 1] = 1;
          for (int64_t x = 1; x + 1 < w; ++x) {
            const L v = row[x];
            edge[x] = static_cast<uint8_t>((v != row[x - 1]) | (v != row[x + 1]) | (v != up[x]) | (v != down[x]) |
                                           (v != front[x]) | (v != back[x]));
          }
        }
        for (int64_t x = 0; x < w; ++x) {
          const int64_t v = static_cast<int64_t>(row[x]);
          if (v >= 0 && v < r.classes && !(r.hasIgnore && v == r.ignoreIndex)) counts[static_cast<size_t>(v)] += edge[x];
        }
      }
    }
    for (int c = 0; c < r.classes; ++c) out[c] = static_cast<double>(counts[static_cast<size_t>(c)]);
  });
}

// The maps of one image from its masks [maps, N] (maps = masksPerImage), into out (its length
// is targetMapLength).
void imageMapsFromMasks(const uint8_t* masks, const TargetMapRequest& r, double* out) {
  const int64_t maps = masksPerImage(r.kind, r.classes);
  switch (r.kind) {
    // The class masks of one image do not overlap: maps = the disjoint group (half the transforms).
    case TargetMapKind::BoundarySigned: geometry::boundarySignedDistance(masks, maps, r.grid, out, maps); return;
    case TargetMapKind::RegionWiseRectified: geometry::regionWiseRectifiedMap(masks, maps, r.grid, out); return;
    case TargetMapKind::HausdorffDistance: geometry::hausdorffDistanceMap(masks, maps, r.grid, out, maps); return;
    case TargetMapKind::DistancePenalty:
    case TargetMapKind::ForegroundPenalty: geometry::distancePenaltyMap(masks, maps, r.grid, out, maps); return;
    case TargetMapKind::ForegroundPenaltyOdyssey: odysseyPenalty(masks, maps, r.grid, out); return;
    case TargetMapKind::ActiveBoundaryDistance: activeBoundaryDistance(masks, maps, r.grid, out); return;
    case TargetMapKind::InnerBoundaryCount: break;  // from the labels (innerBoundaryCounts)
  }
}

// A map's storage: `length` doubles from the pool, not zeroed (every kind writes all of them).
std::shared_ptr<TargetMapStorage> mapStorage(int64_t length) {
  auto storage = std::make_shared<TargetMapStorage>();
  storage->values = BatchArray<double>(static_cast<size_t>(length), BufferFill::Overwritten);
  storage->length = length;
  return storage;
}

// The maps of `count` images (images[k]: its labels), into out[k]. With at least as many images
// as threads, each worker computes whole images, masks and storage included (its geometry calls
// then run on its own thread: no synchronisation inside an image; first touches of new storage
// fault in parallel); otherwise the images go one by one, each geometry call threaded over its maps.
void mapsOfImages(const unsigned char* const* images, LabelType type, int64_t count, const TargetMapRequest& r,
                  ImageTargetMap* out) {
  const int64_t n = r.grid.voxels();
  const bool fromLabels = r.kind == TargetMapKind::InnerBoundaryCount;
  const int64_t perImage = fromLabels ? 0 : masksPerImage(r.kind, r.classes) * n;
  const int64_t length = targetMapLength(r.kind, r.classes, n);
  const auto image = [&](int64_t k, BatchArray<uint8_t>& masks) {
    std::shared_ptr<TargetMapStorage> storage = mapStorage(length);
    if (fromLabels) {
      innerBoundaryCounts(images[k], type, r, storage->values.data);
    } else {
      imageMasks(images[k], type, r, n, masks.data);
      imageMapsFromMasks(masks.data, r, storage->values.data);
    }
    out[k] = std::move(storage);
  };
  const auto maskArray = [&] { return BatchArray<uint8_t>(static_cast<size_t>(perImage), BufferFill::Overwritten); };
  if (count < cpuEngineThreads()) {
    BatchArray<uint8_t> masks = maskArray();
    for (int64_t k = 0; k < count; ++k) image(k, masks);
    return;
  }
  std::vector<std::exception_ptr> failed(static_cast<size_t>(count));
  parallelRanges(count, workersFor(count, std::max<int64_t>(perImage, n)), [&](int, int64_t b, int64_t e) {
    try {  // a pool worker must not throw: the error is rethrown on the calling thread
      const EngineThreadLimit serial(1);  // the image's geometry calls take their one-thread paths
      BatchArray<uint8_t> masks = maskArray();
      for (int64_t k = b; k < e; ++k) image(k, masks);
    } catch (...) {
      failed[static_cast<size_t>(b)] = std::current_exception();
    }
  });
  for (const std::exception_ptr& error : failed) {
    if (error) std::rethrow_exception(error);
  }
}

// 64-bit hash of a byte string (8-byte words, multiply–xorshift mixing).
uint64_t hashBytes(const unsigned char* data, size_t size) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ size;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, data + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, data + i, size - i);
  h = (h ^ tail) * 0x94D049BB133111EBull;
  return h ^ (h >> 29);
}

struct CacheKey {
  TargetMapKind kind;
  int classes;
  geometry::GridShape grid;
  bool hasIgnore;
  int64_t ignoreIndex;
  LabelType labelType;
  uint64_t hash;

  bool operator==(const CacheKey& o) const {
    return kind == o.kind && classes == o.classes && grid.spatialDims == o.grid.spatialDims &&
           grid.depth == o.grid.depth && grid.height == o.grid.height && grid.width == o.grid.width &&
           grid.spacing == o.grid.spacing && hasIgnore == o.hasIgnore && (!hasIgnore || ignoreIndex == o.ignoreIndex) &&
           labelType == o.labelType && hash == o.hash;
  }
};

struct CacheEntry {
  CacheKey key;
  BatchArray<unsigned char> labels;  // the image's label bytes, compared on every hit (a pool block:
                                     // no fresh pages per insertion)
  size_t labelBytes = 0;
  ImageTargetMap map;
  int64_t bytes() const { return static_cast<int64_t>(labelBytes) + map->length * static_cast<int64_t>(sizeof(double)); }
};

int64_t capacityFromEnvironment() {
  const char* text = std::getenv("SEGLOSS_TARGET_MAP_CACHE_MB");
  int64_t mb = 1024;
  if (text && *text) {
    char* end = nullptr;
    const long long v = std::strtoll(text, &end, 10);
    if (end && *end == '\0' && v >= 0) mb = v;
  }
  return mb * 1024 * 1024;
}

class TargetMapCache {
 public:
  static TargetMapCache& instance() {
    static TargetMapCache cache;
    return cache;
  }

  ImageTargetMap find(const CacheKey& key, const unsigned char* labels, size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->key == key && it->labelBytes == size && std::memcmp(it->labels.data, labels, size) == 0) {
        entries_.splice(entries_.begin(), entries_, it);  // most recently used first
        ++hits_;
        return entries_.front().map;
      }
    }
    ++misses_;
    return nullptr;
  }

  void insert(const CacheKey& key, const unsigned char* labels, size_t size, ImageTargetMap map) {
    CacheEntry entry{key, BatchArray<unsigned char>(size, BufferFill::Overwritten), size, std::move(map)};
    std::memcpy(entry.labels.data, labels, size);
    std::lock_guard<std::mutex> lock(mutex_);
    if (entry.bytes() > capacity_) return;
    bytes_ += entry.bytes();
    entries_.push_front(std::move(entry));
    while (bytes_ > capacity_ && !entries_.empty()) {
      bytes_ -= entries_.back().bytes();
      entries_.pop_back();
    }
  }

  TargetMapCacheStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return TargetMapCacheStats{hits_, misses_, static_cast<int64_t>(entries_.size()), bytes_, capacity_};
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.clear();
    bytes_ = hits_ = misses_ = 0;
  }

 private:
  TargetMapCache() : capacity_(capacityFromEnvironment()) {}

  std::mutex mutex_;
  std::list<CacheEntry> entries_;  // most recently used first
  int64_t bytes_ = 0, hits_ = 0, misses_ = 0;
  int64_t capacity_;
};

}  // namespace

void classMasks(const void* labels, LabelType labelType, int64_t pixels, int classes, bool hasIgnore,
                int64_t ignoreIndex, uint8_t* out) {
  dispatchLabel(labelType, [&](auto label) {
    using L = decltype(label);
    const L* t = static_cast<const L*>(labels);
    std::memset(out, 0, static_cast<size_t>(classes * pixels));
    for (int64_t i = 0; i < pixels; ++i) {
      const int64_t v = static_cast<int64_t>(t[i]);
      if (v >= 0 && v < classes && !(hasIgnore && v == ignoreIndex)) out[v * pixels + i] = 1;
    }
  });
}

BatchTargetMaps targetMaps(const void* target, LabelType labelType, int64_t batch, const TargetMapRequest& request) {
  geometry::checkGrid(request.grid);
  TargetMapCache& cache = TargetMapCache::instance();
  const int64_t n = request.grid.voxels();
  const size_t stride = labelBytes(labelType) * static_cast<size_t>(n);
  const unsigned char* bytes = static_cast<const unsigned char*>(target);
  BatchTargetMaps out;
  out.images.resize(static_cast<size_t>(batch));
  out.data.resize(static_cast<size_t>(batch));
  std::vector<CacheKey> keys;
  std::vector<int64_t> missing;
  for (int64_t b = 0; b < batch; ++b) {
    const unsigned char* image = bytes + b * stride;
    keys.push_back(CacheKey{request.kind, request.classes, request.grid, request.hasIgnore, request.ignoreIndex, labelType,
                            hashBytes(image, stride)});
    out.images[b] = cache.find(keys.back(), image, stride);
    if (!out.images[b]) missing.push_back(b);
  }
  if (!missing.empty()) {
    std::vector<const unsigned char*> images(missing.size());
    for (size_t k = 0; k < missing.size(); ++k) images[k] = bytes + missing[k] * stride;
    std::vector<ImageTargetMap> maps(missing.size());
    mapsOfImages(images.data(), labelType, static_cast<int64_t>(missing.size()), request, maps.data());
    for (size_t k = 0; k < missing.size(); ++k) {
      const int64_t b = missing[k];
      out.images[b] = std::move(maps[k]);
      cache.insert(keys[b], bytes + b * stride, stride, out.images[b]);
    }
  }
  for (int64_t b = 0; b < batch; ++b) out.data[b] = out.images[b]->data();
  return out;
}

TargetMapCacheStats targetMapCacheStats() { return TargetMapCache::instance().stats(); }

void clearTargetMapCache() { TargetMapCache::instance().clear(); }

}  // namespace segloss
