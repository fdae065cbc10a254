// CPU engine for pixel-wise losses: value and gradient at a pixel depend only on that pixel's
// logits, its label and a weight. A pixel functor provides
//   double pixelWeight(int label)                    — its share of the normalizer W
//   T value(const Px& px, int label)                 — its unnormalised loss term
//   T scaledGrad(const Px& px, int c, int label)     — h_c = p_c · d term / d p_c
// The engine returns Σ terms / W (0 when W = 0) and writes d value / d logits through the
// activation's Jacobian (gradient 0 at ignored pixels).
#pragma once

#include <algorithm>
#include <cstdint>

#include "activation.h"
#include "loss_batch.h"

namespace segloss {

template <typename T, typename L, class Loss>
double pixelNormalizer(const LossBatch<T, L>& in, const Loss& loss) {
  double total = 0.0;
  const int64_t n = in.batch * in.pixels;
  for (int64_t j = 0; j < n; ++j) {
    const L t = in.target[j];
    if (!in.isIgnored(t)) total += loss.pixelWeight(static_cast<int>(t));
  }
  return total;
}

template <typename T>
void zeroIgnoredPixel(const GradTarget<T>& grad, int64_t offset, int64_t channels, int64_t stride) {
  if (grad.accumulate) return;
  for (int64_t c = 0; c < channels; ++c) grad.data[offset + c * stride] = T(0);
}

template <PixelActivationKind A, typename T, typename L, class Loss>
double runPixelEngineCpu(const LossBatch<T, L>& in, const Loss& loss, const GradTarget<T>* grad) {
  const double normalizer = pixelNormalizer(in, loss);
  const int channels = static_cast<int>(in.channels);
  if (normalizer == 0.0) {
    if (grad && !grad->accumulate) std::fill(grad->data, grad->data + in.batch * in.channels * in.pixels, T(0));
    return 0.0;
  }
  const T gradScale = grad ? static_cast<T>(grad->scale / normalizer) : T(0);
  double total = 0.0;
  for (int64_t b = 0; b < in.batch; ++b) {
    for (int64_t i = 0; i < in.pixels; ++i) {
      const L t = in.label(b, i);
      const int64_t offset = b * in.channels * in.pixels + i;
      if (in.isIgnored(t)) {
        if (grad) zeroIgnoredPixel(*grad, offset, in.channels, in.pixels);
        continue;
      }
      const int label = static_cast<int>(t);
      const PixelActivation<T, A> px(in.pixelLogits(b, i), in.pixels, channels);
      total += static_cast<double>(loss.value(px, label));
      if (grad) {
        const auto h = [&](int c) { return loss.scaledGrad(px, c, label); };
        px.writeFromScaledGrad(h, grad->data + offset, gradScale, grad->accumulate);
      }
    }
  }
  return total / normalizer;
}

}  // namespace segloss
