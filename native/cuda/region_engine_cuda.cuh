// CUDA engine for region losses: the sibling of native/core/region_engine_cpu.h, running the same
// functors (kStats, accumulate, head, probGrad) and activations.
//   1. regionStatsKernel: per-(image, class) statistics in double. Grid (x: pixels of an image,
//      y: images); each block accumulates its image's [K, kStats] sums in shared memory (warp sums,
//      then one shared atomic per warp and statistic), then adds them to the global sums with one
//      double atomic each. It also counts the valid pixels.
//   2. regionHeadKernel (one thread): the functor's head turns the sums into the value and
//      d value / d sums, in device memory. No valid pixel at all → value 0 and dsums 0.
//   3. regionGradKernel: one thread per pixel writes scale · d value / d z through the activation.
// All on the caller's stream; nothing waits on the host. When [K, kStats] doubles exceed the
// default shared memory, pass 1 accumulates straight into the global sums instead.
#pragma once

#include <algorithm>
#include <cstdint>

#include "../core/activation.h"
#include "../core/loss_batch.h"
#include "device_reduce.cuh"

namespace segloss::cuda {

// Device buffers of the region engine, in the caller's workspace.
struct RegionWorkspace {
  double* sums;                   // [B, K, S]
  double* dsums;                  // [B, K, S]
  unsigned long long* validCount; // number of valid pixels over the batch

  static size_t bytes(int64_t batch, int classes, int stats) {
    return (2 * static_cast<size_t>(batch) * classes * stats) * sizeof(double) + sizeof(unsigned long long);
  }
  static RegionWorkspace at(void* workspace, int64_t batch, int classes, int stats) {
    double* d = static_cast<double*>(workspace);
    const int64_t size = batch * classes * stats;
    return RegionWorkspace{d, d + size, reinterpret_cast<unsigned long long*>(d + 2 * size)};
  }
};

// Adds one valid-or-not pixel's statistics for class c to acc[c * S + k] (shared or global).
// Every lane of the warp calls it with the same c; inactive lanes contribute zeros.
template <typename T, class Loss>
__device__ __forceinline__ void addClassStats(const Loss& loss, bool active, T p, T g, double* acc) {
  constexpr int S = Loss::kStats;
  double stats[S];
  for (int k = 0; k < S; ++k) stats[k] = 0.0;
  if (active) loss.accumulate(p, g, stats);
  const bool leader = threadIdx.x % kWarpSize == 0;
  for (int k = 0; k < S; ++k) {
    const double sum = warpReduceSum(stats[k]);
    if (leader && sum != 0.0) atomicAdd(acc + k, sum);
  }
}

// sums: [B, K, S], zeroed. useShared: accumulate per block in [K, S] doubles of dynamic shared memory.
template <PixelActivationKind A, typename T, typename L, class Loss>
__global__ void regionStatsKernel(LossBatch<T, L> in, Loss loss, double* sums, unsigned long long* validCount,
                                  bool useShared) {
  constexpr int S = Loss::kStats;
  const int channels = static_cast<int>(in.channels);
  const int classes = probabilityClasses(in.channels);
  const int64_t blockStart = static_cast<int64_t>(blockIdx.x) * blockDim.x;
  double* shared = dynamicShared<double>();
  unsigned long long valid = 0;
  for (int64_t b = blockIdx.y; b < in.batch; b += gridDim.y) {
    double* image = sums + b * classes * S;
    double* acc = useShared ? shared : image;
    if (useShared) {
      for (int k = static_cast<int>(threadIdx.x); k < classes * S; k += static_cast<int>(blockDim.x)) acc[k] = 0.0;
      __syncthreads();
    }
    // Uniform trip count over the block, so whole warps reach the warp sums together.
    for (int64_t base = blockStart; base < in.pixels; base += gridStrideStep()) {
      const int64_t i = base + threadIdx.x;
      const int64_t safe = i < in.pixels ? i : in.pixels - 1;
      const L t = in.label(b, safe);
      const bool active = i < in.pixels && !in.isIgnored(t);
      valid += active ? 1u : 0u;
      const PixelActivation<T, A> px(in.pixelLogits(b, safe), in.pixels, channels);
      const int label = static_cast<int>(t);
      for (int c = 0; c < classes; ++c) addClassStats(loss, active, px.prob(c), label == c ? T(1) : T(0), acc + c * S);
    }
    if (useShared) {
      __syncthreads();
      for (int k = static_cast<int>(threadIdx.x); k < classes * S; k += static_cast<int>(blockDim.x)) {
        if (acc[k] != 0.0) atomicAdd(image + k, acc[k]);
      }
      __syncthreads();
    }
  }
  valid = warpReduceSum(valid);
  if (threadIdx.x % kWarpSize == 0 && valid != 0) atomicAdd(validCount, valid);
}

template <class Loss>
__global__ void regionHeadKernel(Loss loss, const double* sums, double* dsums, const unsigned long long* validCount,
                                 int64_t batch, int classes, double* value) {
  *value = *validCount == 0 ? 0.0 : loss.head(sums, dsums, batch, classes);
}

// dsums: [B, K, S] from the head.
template <PixelActivationKind A, typename T, typename L, class Loss>
__global__ void regionGradKernel(LossBatch<T, L> in, Loss loss, const double* dsums, GradTarget<T> grad) {
  constexpr int S = Loss::kStats;
  const int channels = static_cast<int>(in.channels);
  const int classes = probabilityClasses(in.channels);
  const int64_t n = in.batch * in.pixels;
  for (int64_t j = gridStrideStart(); j < n; j += gridStrideStep()) {
    const int64_t b = j / in.pixels;
    const int64_t i = j - b * in.pixels;
    const int64_t offset = b * in.channels * in.pixels + i;
    const L t = in.target[j];
    if (in.isIgnored(t)) {
      if (!grad.accumulate) {
        for (int c = 0; c < channels; ++c) grad.data[offset + c * in.pixels] = T(0);
      }
      continue;
    }
    const PixelActivation<T, A> px(in.logits + offset, in.pixels, channels);
    const int label = static_cast<int>(t);
    const double* image = dsums + b * classes * S;
    const auto d = [&](int c) { return loss.probGrad(px.prob(c), label == c ? T(1) : T(0), image + c * S); };
    px.writeFromProbGrad(d, grad.data + offset, grad.scale, grad.accumulate);
  }
}

// Enqueues the region engine on `stream`; the value lands in *value (device), the gradient (when
// grad != nullptr) in grad->data. workspace: RegionWorkspace::bytes(B, K, kStats) device bytes.
template <PixelActivationKind A, typename T, typename L, class Loss>
void runRegionEngineCuda(const LossBatch<T, L>& in, const Loss& loss, const GradTarget<T>* grad, double* value,
                         void* workspace, Stream stream) {
  constexpr int S = Loss::kStats;
  const int classes = probabilityClasses(in.channels);
  const RegionWorkspace ws = RegionWorkspace::at(workspace, in.batch, classes, S);
  zeroAsync(workspace, RegionWorkspace::bytes(in.batch, classes, S), stream);

  const size_t statsBytes = static_cast<size_t>(classes) * S * sizeof(double);
  const bool useShared = statsBytes <= sharedBytesPerBlock();
  const int64_t target = residentBlockTarget();
  const int64_t imagesPerLaunch = std::min<int64_t>(in.batch, kMaxGridY);
  const dim3 statsGrid(gridBlocksFor(in.pixels, target / imagesPerLaunch), static_cast<unsigned>(imagesPerLaunch));
  launchKernel(regionStatsKernel<A, T, L, Loss>, statsGrid, dim3(kBlockThreads), useShared ? statsBytes : 0, stream,
               in, loss, ws.sums, ws.validCount, useShared);
  launchKernel(regionHeadKernel<Loss>, dim3(1), dim3(1), 0, stream, loss, static_cast<const double*>(ws.sums), ws.dsums,
               static_cast<const unsigned long long*>(ws.validCount), in.batch, classes, value);
  if (grad) {
    const dim3 gradGrid(gridBlocksFor(in.batch * in.pixels, target));
    launchKernel(regionGradKernel<A, T, L, Loss>, gradGrid, dim3(kBlockThreads), 0, stream, in, loss,
                 static_cast<const double*>(ws.dsums), *grad);
  }
}

}  // namespace segloss::cuda
