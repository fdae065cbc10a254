// The storage of one image's target map (target_maps.h), shared by the cache and the calls that read it.
#pragma once

#include <cstdint>
#include <memory>

#include "batch_buffer.h"

namespace segloss {

// One image's map (`length` = targetMapLength doubles), immutable once built. Its storage comes from
// the batch-buffer pool (batch_buffer.h) and goes back to it when the last holder lets go: a miss
// in a training loop reuses the blocks of the maps the cache evicted (or a cleared cache's),
// without page faults or zeroing.
struct TargetMapStorage {
  BatchArray<double> values;
  int64_t length = 0;
  const double* data() const { return values.data; }
};
using ImageTargetMap = std::shared_ptr<const TargetMapStorage>;

}  // namespace segloss
