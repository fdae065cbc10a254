// A host emulation of the few CUDA features the engines use, so that the very kernels of
// native/cuda/*.cuh run (and are checked against the CPU engines) on a machine without a GPU.
// Compiled only into the check program of scripts/compile-cuda.sh (SEGLOSS_CUDA_HOST_EMULATION).
//
// A launch runs every thread of every block as its own std::thread, all at once, so blocks really
// race on global atomics and threads really race on shared memory (build with -fsanitize=thread to
// see any missing barrier). __syncthreads is a barrier of the block; __shfl_down_sync is an
// exchange through a per-warp buffer between two barriers of the warp, so a shuffle that some
// lane of the warp does not reach deadlocks here as it would misbehave on a GPU. Launches are
// synchronous and in order, like one stream.
#pragma once

#include <atomic>
#include <barrier>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};

inline thread_local dim3 threadIdx{0, 0, 0};
inline thread_local dim3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};

namespace segloss::cuda::emulation {

constexpr int kWarpLanes = 32;

// A reusable barrier of n threads for the thousands of short phases of emulated warp shuffles:
// waiters yield a few times before sleeping on the phase counter (twice as fast as std::barrier here).
class WarpBarrier {
 public:
  explicit WarpBarrier(int n) : count_(n) {}
  void arrive_and_wait() {
    const unsigned phase = phase_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
      arrived_.store(0, std::memory_order_relaxed);
      phase_.fetch_add(1, std::memory_order_acq_rel);
      phase_.notify_all();
      return;
    }
    for (int spin = 0; spin < 64 && phase_.load(std::memory_order_acquire) == phase; ++spin) std::this_thread::yield();
    while (phase_.load(std::memory_order_acquire) == phase) phase_.wait(phase, std::memory_order_acquire);
  }

 private:
  const int count_;
  std::atomic<int> arrived_{0};
  std::atomic<unsigned> phase_{0};
};

struct Warp {
  explicit Warp(int lanes) : barrier(lanes) {}
  WarpBarrier barrier;
  unsigned char slots[kWarpLanes][8] = {};
};

struct Block {
  Block(unsigned threads, size_t sharedBytes) : barrier(threads), shared((sharedBytes + 7) / 8 + 1) {
    for (unsigned first = 0; first < threads; first += kWarpLanes) {
      const unsigned lanes = threads - first < unsigned(kWarpLanes) ? threads - first : unsigned(kWarpLanes);
      warps.push_back(std::make_unique<Warp>(static_cast<int>(lanes)));
    }
  }
  std::barrier<> barrier;
  std::vector<double> shared;  // dynamic shared memory, 8-byte aligned
  std::vector<std::unique_ptr<Warp>> warps;
};

inline thread_local Block* currentBlock = nullptr;

// Emulated multiprocessors: small, so that the grid-stride loops take several turns.
inline int emulatedMultiprocessors = 2;
// Emulated shared memory per block: lowered by the checks to reach the engines' fallbacks cheaply.
inline size_t emulatedSharedBytesPerBlock = 48 * 1024;

}  // namespace segloss::cuda::emulation

inline void __syncthreads() { segloss::cuda::emulation::currentBlock->barrier.arrive_and_wait(); }

template <typename V>
V __shfl_down_sync(unsigned, V v, unsigned delta) {
  static_assert(sizeof(V) <= 8, "emulated shuffles move at most 8 bytes");
  using segloss::cuda::emulation::kWarpLanes;
  auto& warp = *segloss::cuda::emulation::currentBlock->warps[threadIdx.x / kWarpLanes];
  const unsigned lane = threadIdx.x % kWarpLanes;
  std::memcpy(warp.slots[lane], &v, sizeof(V));
  warp.barrier.arrive_and_wait();
  V result = v;
  const unsigned lanes = blockDim.x - (threadIdx.x / kWarpLanes) * kWarpLanes;
  if (lane + delta < kWarpLanes && lane + delta < lanes) std::memcpy(&result, warp.slots[lane + delta], sizeof(V));
  warp.barrier.arrive_and_wait();
  return result;
}

inline double atomicAdd(double* address, double v) { return std::atomic_ref<double>(*address).fetch_add(v); }
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long v) {
  return std::atomic_ref<unsigned long long>(*address).fetch_add(v);
}

namespace segloss::cuda {

using Stream = void*;

// Runs kernel(args...) on grid × block emulated threads and returns when all have finished.
template <typename... Params, typename... Args>
void launchKernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t sharedBytes, Stream,
                  const Args&... args) {
  if (block.y != 1 || block.z != 1 || grid.z != 1) throw std::logic_error("emulated launches are 1-D blocks, 2-D grids");
  std::vector<std::unique_ptr<emulation::Block>> blocks;
  std::vector<std::thread> threads;
  for (unsigned by = 0; by < grid.y; ++by) {
    for (unsigned bx = 0; bx < grid.x; ++bx) {
      blocks.push_back(std::make_unique<emulation::Block>(block.x, sharedBytes));
      emulation::Block* state = blocks.back().get();
      for (unsigned tx = 0; tx < block.x; ++tx) {
        threads.emplace_back([=]() {
          threadIdx = dim3(tx);
          blockIdx = dim3(bx, by);
          blockDim = block;
          gridDim = grid;
          emulation::currentBlock = state;
          kernel(Params(args)...);
        });
      }
    }
  }
  for (auto& t : threads) t.join();
}

inline void zeroAsync(void* data, size_t bytes, Stream) { std::memset(data, 0, bytes); }

inline int multiprocessorCount() { return emulation::emulatedMultiprocessors; }

inline size_t sharedBytesPerBlock() { return emulation::emulatedSharedBytesPerBlock; }

template <typename V>
inline V* dynamicShared() {
  return reinterpret_cast<V*>(emulation::currentBlock->shared.data());
}

}  // namespace segloss::cuda
