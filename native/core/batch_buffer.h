// Batch-sized host arrays ([B, K, N] and [B, N]) of the CPU engines, from a small process-wide pool
// of blocks that earlier calls released. A call's buffers are the same sizes as the previous
// call's in a training loop or a benchmark, so after the first call they cost no allocation, no
// page faults, no kernel zeroing of fresh pages and no unmapping (with its cross-core TLB
// shootdowns) when they are released: measured at 4×19×512² for topk, those were 12–15% of the
// call. New blocks are calloc'd (large ones come zeroed from fresh pages) and, on Linux, marked for
// transparent huge pages, so that first touching a [B, K, N] array costs a few faults rather than
// one per 4 KiB page. The pool keeps at most kPooledBlocks blocks and kPooledBytes bytes; a
// released block that does not fit replaces the oldest ones or is freed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "parallel_cpu.h"

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace segloss {

// Whether a batch buffer must start as zeros (the arrays terms add into) or will be written in full
// before it is read (the activation and labels the Statistics pass stores).
enum class BufferFill { Zeros, Overwritten };

namespace detail {

inline constexpr size_t kPooledBlocks = 64;
inline constexpr size_t kPooledBytes = size_t(512) << 20;
inline constexpr int64_t kZeroChunk = int64_t(1) << 20;  // bytes per unit of the threaded zeroing

// memset(p, 0, bytes) on the engine's workers (a reused block: fresh ones come zeroed, and their
// first touch would have faulted on the workers in parallel too).
inline void zeroBlock(unsigned char* p, size_t bytes) {
  const int64_t units = (static_cast<int64_t>(bytes) + kZeroChunk - 1) / kZeroChunk;
  parallelRanges(units, workersFor(units, kZeroChunk / 4), [&](int, int64_t begin, int64_t end) {
    const size_t from = static_cast<size_t>(begin * kZeroChunk);
    const size_t to = std::min(bytes, static_cast<size_t>(end * kZeroChunk));
    std::memset(p + from, 0, to - from);
  });
}

class BufferPool {
 public:
  // A block of at least `bytes` (and at most 1.25 × bytes) from the pool, or nullptr; *size is its size.
  unsigned char* take(size_t bytes, size_t* size) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = blocks_.size(); i-- > 0;) {  // the most recently released first
      if (blocks_[i].bytes >= bytes && blocks_[i].bytes - bytes <= bytes / 4) {
        unsigned char* p = blocks_[i].data;
        *size = blocks_[i].bytes;
        pooled_ -= blocks_[i].bytes;
        blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i));
        return p;
      }
    }
    return nullptr;
  }

  // Keeps a released block (freeing the oldest ones to make room), or frees it.
  void release(unsigned char* p, size_t bytes) {
    std::vector<unsigned char*> freed;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (bytes > kPooledBytes) {
        freed.push_back(p);
      } else {
        while (!blocks_.empty() && (blocks_.size() >= kPooledBlocks || pooled_ + bytes > kPooledBytes)) {
          freed.push_back(blocks_.front().data);
          pooled_ -= blocks_.front().bytes;
          blocks_.erase(blocks_.begin());
        }
        blocks_.push_back(Block{p, bytes});
        pooled_ += bytes;
      }
    }
    for (unsigned char* f : freed) std::free(f);  // outside the lock: unmapping can take a while
  }

  size_t pooledBytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return pooled_;
  }

 private:
  struct Block {
    unsigned char* data;
    size_t bytes;
  };
  std::mutex mutex_;
  std::vector<Block> blocks_;  // oldest first
  size_t pooled_ = 0;
};

// The process's pool; never destroyed, so that buffers released during static destruction are safe.
inline BufferPool& bufferPool() {
  static BufferPool* pool = new BufferPool();
  return *pool;
}

}  // namespace detail

struct PooledDeleter {
  size_t bytes = 0;  // the block's size
  void operator()(unsigned char* p) const { detail::bufferPool().release(p, bytes); }
};
using BatchBuffer = std::unique_ptr<unsigned char, PooledDeleter>;

// `bytes` bytes (throws std::bad_alloc), zeroed unless `fill` says the caller overwrites them all.
inline BatchBuffer batchBuffer(size_t bytes, BufferFill fill = BufferFill::Zeros) {
  if (bytes == 0) bytes = 1;
  size_t size = 0;
  if (unsigned char* reused = detail::bufferPool().take(bytes, &size)) {
    if (fill == BufferFill::Zeros) detail::zeroBlock(reused, bytes);
    return BatchBuffer(reused, PooledDeleter{size});
  }
  auto* p = static_cast<unsigned char*>(std::calloc(bytes, 1));
  if (!p) throw std::bad_alloc();
#ifdef __linux__
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
  return BatchBuffer(p, PooledDeleter{bytes});
}

// An array of `count` T in a BatchBuffer (zeroed unless `fill` says otherwise).
template <typename T>
struct BatchArray {
  BatchBuffer buffer;
  T* data = nullptr;

  BatchArray() = default;
  explicit BatchArray(size_t count, BufferFill fill = BufferFill::Zeros)
      : buffer(batchBuffer(count * sizeof(T), fill)), data(reinterpret_cast<T*>(buffer.get())) {}
};

}  // namespace segloss
