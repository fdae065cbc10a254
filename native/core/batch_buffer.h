// Batch-sized host arrays ([B, K, N] and [B, N]) of the CPU engines: calloc'd (large ones come
// zeroed from fresh pages, without a pass of their own) and, on Linux, marked for transparent huge
// pages, so that first touching a [B, K, N] array costs a few faults rather than one per 4 KiB page.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace segloss {

struct FreeDeleter {
  void operator()(unsigned char* p) const { std::free(p); }
};
using BatchBuffer = std::unique_ptr<unsigned char, FreeDeleter>;

// `bytes` zeroed bytes (throws std::bad_alloc).
inline BatchBuffer batchBuffer(size_t bytes) {
  auto* p = static_cast<unsigned char*>(std::calloc(bytes, 1));
  if (!p) throw std::bad_alloc();
#ifdef __linux__
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
  return BatchBuffer(p);
}

// A zeroed array of `count` T in a BatchBuffer.
template <typename T>
struct BatchArray {
  BatchBuffer buffer;
  T* data = nullptr;

  BatchArray() = default;
  explicit BatchArray(size_t count) : buffer(batchBuffer(count * sizeof(T))), data(reinterpret_cast<T*>(buffer.get())) {}
};

}  // namespace segloss
