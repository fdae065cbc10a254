// CPU engine for region losses. Pass 1 reduces per-(image, class) statistics in float64; the
// functor's scalar head turns them into the value and d value / d statistics; pass 2 writes each
// pixel's gradient. A region functor provides
//   static constexpr int kStats                                  — statistics per (image, class)
//   void accumulate(T p, T g, double* stats)                     — add one valid pixel's terms
//   double head(const double* sums, double* dsums, int64_t B, int K)
//                                          — sums, dsums: [B, K, kStats]; returns the value
//   T probGrad(T p, T g, const double* dstats)                   — d value / d p for one class
// Ignored pixels contribute nothing to the sums and get gradient 0; with no valid pixel at all the
// head is not run: value 0, gradient 0 (spec, Common ground).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "activation.h"
#include "loss_batch.h"

namespace segloss {

// Returns the number of valid pixels.
template <PixelActivationKind A, typename T, typename L, class Loss>
int64_t accumulateRegionStatsCpu(const LossBatch<T, L>& in, const Loss& loss, double* sums /* [B, K, S] */) {
  const int channels = static_cast<int>(in.channels);
  const int classes = probabilityClasses(in.channels);
  constexpr int S = Loss::kStats;
  int64_t valid = 0;
  for (int64_t b = 0; b < in.batch; ++b) {
    double* image = sums + b * classes * S;
    for (int64_t i = 0; i < in.pixels; ++i) {
      const L t = in.label(b, i);
      if (in.isIgnored(t)) continue;
      ++valid;
      const PixelActivation<T, A> px(in.pixelLogits(b, i), in.pixels, channels);
      for (int c = 0; c < classes; ++c) {
        loss.accumulate(px.prob(c), static_cast<int>(t) == c ? T(1) : T(0), image + c * S);
      }
    }
  }
  return valid;
}

template <PixelActivationKind A, typename T, typename L, class Loss>
void writeRegionGradCpu(const LossBatch<T, L>& in, const Loss& loss, const double* dsums /* [B, K, S] */,
                        const GradTarget<T>& grad) {
  const int channels = static_cast<int>(in.channels);
  const int classes = probabilityClasses(in.channels);
  constexpr int S = Loss::kStats;
  for (int64_t b = 0; b < in.batch; ++b) {
    const double* image = dsums + b * classes * S;
    for (int64_t i = 0; i < in.pixels; ++i) {
      const L t = in.label(b, i);
      const int64_t offset = b * in.channels * in.pixels + i;
      if (in.isIgnored(t)) {
        if (!grad.accumulate) {
          for (int c = 0; c < channels; ++c) grad.data[offset + c * in.pixels] = T(0);
        }
        continue;
      }
      const PixelActivation<T, A> px(in.pixelLogits(b, i), in.pixels, channels);
      const int label = static_cast<int>(t);
      const auto d = [&](int c) { return loss.probGrad(px.prob(c), label == c ? T(1) : T(0), image + c * S); };
      px.writeFromProbGrad(d, grad.data + offset, grad.scale, grad.accumulate);
    }
  }
}

template <PixelActivationKind A, typename T, typename L, class Loss>
double runRegionEngineCpu(const LossBatch<T, L>& in, const Loss& loss, const GradTarget<T>* grad) {
  const int classes = probabilityClasses(in.channels);
  const size_t size = static_cast<size_t>(in.batch) * classes * Loss::kStats;
  std::vector<double> sums(size, 0.0), dsums(size, 0.0);
  const int64_t valid = accumulateRegionStatsCpu<A>(in, loss, sums.data());
  const double value = valid == 0 ? 0.0 : loss.head(sums.data(), dsums.data(), in.batch, classes);
  if (grad) writeRegionGradCpu<A>(in, loss, dsums.data(), *grad);
  return value;
}

}  // namespace segloss
