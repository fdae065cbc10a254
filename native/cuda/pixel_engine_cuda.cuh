// CUDA engine for pixel-wise losses: the sibling of native/core/pixel_engine_cpu.h, running the
// same functors (pixelWeight, value, scaledGrad) and activations.
//   1. pixelNormalizerKernel: W = Σ_valid pixelWeight(t_i), block sums then one double atomic each.
//   2. pixelLossKernel: one thread per pixel (grid-stride over B·N, adjacent threads on adjacent
//      pixels, channel stride N): Σ terms (block sums, double atomics) and, with W known, the
//      gradient scale · (1 / W) · d term / d z written through the activation's Jacobian.
//   3. pixelValueKernel: value = Σ terms / W, or 0 when W = 0 (then every gradient is 0).
// All three run on the caller's stream; nothing waits on the host.
#pragma once

#include <cstdint>

#include "../core/activation.h"
#include "../core/loss_batch.h"
#include "../core/pixel_terms.h"
#include "device_reduce.cuh"

namespace segloss::cuda {

// Device scalars of the pixel engine, in the caller's workspace.
struct PixelWorkspace {
  double* normalizer;  // W
  double* total;       // Σ terms over valid pixels
  static constexpr size_t kBytes = 2 * sizeof(double);
  static PixelWorkspace at(void* workspace) {
    double* d = static_cast<double*>(workspace);
    return PixelWorkspace{d, d + 1};
  }
};

template <typename T>
__device__ __forceinline__ void zeroPixelGrad(const GradTarget<T>& grad, int64_t offset, int64_t channels,
                                              int64_t stride) {
  if (grad.accumulate) return;
  for (int64_t c = 0; c < channels; ++c) grad.data[offset + c * stride] = T(0);
}

template <typename T, typename L, class Loss>
__global__ void pixelNormalizerKernel(LossBatch<T, L> in, Loss loss, double* normalizer) {
  double weight = 0.0;
  const int64_t n = in.batch * in.pixels;
  for (int64_t j = gridStrideStart(); j < n; j += gridStrideStep()) {
    const L t = in.target[j];
    if (!in.isIgnored(t)) weight += loss.pixelWeight(static_cast<int>(t));
  }
  weight = blockReduceSum(weight, dynamicShared<double>());
  if (threadIdx.x == 0) atomicAdd(normalizer, weight);
}

// grad.data == nullptr: value only.
template <PixelActivationKind A, typename T, typename L, class Loss>
__global__ void pixelLossKernel(LossBatch<T, L> in, Loss loss, GradTarget<T> grad, const double* normalizer,
                                double* total) {
  const double w = *normalizer;
  const bool hasGrad = grad.data != nullptr;
  const T gradScale = w != 0.0 ? static_cast<T>(grad.scale / w) : T(0);
  const int channels = static_cast<int>(in.channels);
  const int64_t n = in.batch * in.pixels;
  double sum = 0.0;
  for (int64_t j = gridStrideStart(); j < n; j += gridStrideStep()) {
    const int64_t b = j / in.pixels;
    const int64_t i = j - b * in.pixels;
    const int64_t offset = b * in.channels * in.pixels + i;
    const L t = in.target[j];
    if (in.isIgnored(t) || w == 0.0) {
      if (hasGrad) zeroPixelGrad(grad, offset, in.channels, in.pixels);
      continue;
    }
    const int label = static_cast<int>(t);
    const PixelActivation<T, A> px(in.logits + offset, in.pixels, channels);
    sum += static_cast<double>(loss.value(px, label));
    if (hasGrad) {
      const auto h = [&](int c) { return loss.scaledGrad(px, c, label); };
      px.writeFromScaledGrad(h, grad.data + offset, gradScale, grad.accumulate);
      if constexpr (kHasChannelComplements<PixelActivation<T, A>>) {  // pixel_terms.h: straight to dz_c
        if (loss.weights.complementFactor != 0.0) {
          for (int c = 0; c < channels; ++c) {
            grad.data[offset + c * in.pixels] += gradScale * loss.complementLogitGrad(px, c, label);
          }
        }
      }
    }
  }
  sum = blockReduceSum(sum, dynamicShared<double>());
  if (threadIdx.x == 0 && w != 0.0) atomicAdd(total, sum);
}

// V: the accumulation type (double); a template so that this header defines no non-inline kernel.
template <typename V>
__global__ void pixelValueKernel(const V* normalizer, const V* total, V* value) {
  *value = *normalizer == V(0) ? V(0) : *total / *normalizer;
}

// Enqueues the pixel engine on `stream`; the value lands in *value (device), the gradient (when
// grad != nullptr) in grad->data. workspace: PixelWorkspace::kBytes device bytes.
template <PixelActivationKind A, typename T, typename L, class Loss>
void runPixelEngineCuda(const LossBatch<T, L>& in, const Loss& loss, const GradTarget<T>* grad, double* value,
                        void* workspace, Stream stream) {
  const PixelWorkspace ws = PixelWorkspace::at(workspace);
  zeroAsync(workspace, PixelWorkspace::kBytes, stream);
  const dim3 grid(gridBlocksFor(in.batch * in.pixels, residentBlockTarget()));
  const dim3 block(kBlockThreads);
  constexpr size_t scratch = kMaxWarpsPerBlock * sizeof(double);
  launchKernel(pixelNormalizerKernel<T, L, Loss>, grid, block, scratch, stream, in, loss, ws.normalizer);
  const GradTarget<T> target = grad ? *grad : GradTarget<T>{};
  launchKernel(pixelLossKernel<A, T, L, Loss>, grid, block, scratch, stream, in, loss, target,
               static_cast<const double*>(ws.normalizer), ws.total);
  launchKernel(pixelValueKernel<double>, dim3(1), dim3(1), 0, stream, static_cast<const double*>(ws.normalizer),
               static_cast<const double*>(ws.total), value);
}

}  // namespace segloss::cuda
