// Launch geometry and the warp / block sums shared by the CUDA engines.
//   Blocks are one-dimensional, kBlockThreads threads (a multiple of the warp size); grids are
//   grid-stride loops capped near the number of resident blocks, so each block reduces many
//   pixels before its one atomic per statistic.
#pragma once

#include <algorithm>
#include <cstdint>

#include "runtime.cuh"

namespace segloss::cuda {

constexpr int kWarpSize = 32;
constexpr unsigned kFullWarpMask = 0xffffffffu;
constexpr int kBlockThreads = 256;
constexpr int kBlocksPerMultiprocessor = 8;
constexpr int kMaxWarpsPerBlock = kBlockThreads / kWarpSize;
// The largest gridDim.y.
constexpr int64_t kMaxGridY = 65535;

// Blocks for a grid-stride loop over `items`: enough to cover them, at most `maxBlocks`, at least 1.
inline unsigned gridBlocksFor(int64_t items, int64_t maxBlocks) {
  const int64_t needed = (items + kBlockThreads - 1) / kBlockThreads;
  return static_cast<unsigned>(std::clamp<int64_t>(needed, 1, std::max<int64_t>(maxBlocks, 1)));
}

// Blocks that keep every multiprocessor of the current device busy.
inline int64_t residentBlockTarget() {
  return static_cast<int64_t>(multiprocessorCount()) * kBlocksPerMultiprocessor;
}

// Sum over the 32 lanes of a warp, valid in lane 0. Every lane of the warp must call it.
template <typename V>
__device__ __forceinline__ V warpReduceSum(V v) {
  for (int delta = kWarpSize / 2; delta > 0; delta /= 2) v += __shfl_down_sync(kFullWarpMask, v, delta);
  return v;
}

// Sum over the block, valid in thread 0. Every thread of the block must call it; scratch is
// kMaxWarpsPerBlock values of shared memory, free again when it returns.
template <typename V>
__device__ V blockReduceSum(V v, V* scratch /* [kMaxWarpsPerBlock] */) {
  const int lane = static_cast<int>(threadIdx.x) % kWarpSize;
  const int warp = static_cast<int>(threadIdx.x) / kWarpSize;
  const int warps = static_cast<int>(blockDim.x) / kWarpSize;
  v = warpReduceSum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) v = warpReduceSum(lane < warps ? scratch[lane] : V(0));
  __syncthreads();
  return v;
}

// First index and stride of a one-dimensional grid-stride loop along x.
__device__ __forceinline__ int64_t gridStrideStart() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t gridStrideStep() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

}  // namespace segloss::cuda
