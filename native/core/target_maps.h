// The maps of the boundary-level losses that depend on the target only (spec/LOSSES.md "Distance
// maps"), per image, from the exact distance transforms of native/core/geometry/, and the one
// process-wide cache that keeps them between calls.
//
// A map is computed per image b and class c from the mask (target[b] == c), where a pixel whose
// label is the ignore index (or any label outside [0, K)) belongs to no class. The cache is keyed
// by the image's label bytes themselves (a 64-bit hash to find the entry, then a byte-for-byte
// comparison with the stored copy of the labels), so a hit is never stale: changing any label of
// an image, in place or not, makes its next lookup a miss. Entries are shared (shared_ptr), so an
// entry evicted while a call still reads it stays alive until that call ends.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "geometry/grid.h"
#include "losses.h"
#include "target_map_kind.h"
#include "target_map_storage.h"

namespace segloss {

// What a map depends on besides the labels.
struct TargetMapRequest {
  TargetMapKind kind = TargetMapKind::BoundarySigned;
  int classes = 0;           // K
  geometry::GridShape grid;  // the image's spatial shape (voxels() = N) and spacing
  bool hasIgnore = false;
  int64_t ignoreIndex = -100;
};


// The maps of every image of a batch: images[b] keeps image b's map alive, data[b] points into it.
struct BatchTargetMaps {
  std::vector<ImageTargetMap> images;
  std::vector<const double*> data;  // [B]
};

// The maps of target [B, N] (labels of `labelType`), from the cache or computed (all the images
// that miss in one batched, threaded geometry call) and stored in the cache.
BatchTargetMaps targetMaps(const void* target, LabelType labelType, int64_t batch, const TargetMapRequest& request);

// The class masks of one image: [K, N] uint8, mask[c, i] = (label_i == c), ignored pixels 0.
void classMasks(const void* labels /* [N] */, LabelType labelType, int64_t pixels, int classes, bool hasIgnore,
                int64_t ignoreIndex, uint8_t* out /* [K, N] */);

struct TargetMapCacheStats {
  int64_t hits = 0;      // image lookups answered from the cache
  int64_t misses = 0;    // image lookups that computed the map
  int64_t entries = 0;   // images held now
  int64_t bytes = 0;     // their labels and maps
  int64_t capacityBytes = 0;  // the budget: SEGLOSS_TARGET_MAP_CACHE_MB (default 1024) MiB, read at first use
};

TargetMapCacheStats targetMapCacheStats();
// Drops every entry and zeroes the counters.
void clearTargetMapCache();

}  // namespace segloss
