// The raw-pointer views every engine consumes: a batch of logits and labels, and where the
// gradient goes. Shapes are written beside each pointer; N = H·W (or D·H·W) pixels per image.
#pragma once

#include <cstdint>

#include "host_device.h"

namespace segloss {

template <typename T, typename L>
struct LossBatch {
  const T* logits = nullptr;  // [B, C, N] activations' inputs (logits, or probabilities for 'none')
  const L* target = nullptr;  // [B, N] class indices in [0, K), or ignoreIndex
  int64_t batch = 0;          // B
  int64_t channels = 0;       // C (K = C, or 2 when C = 1)
  int64_t pixels = 0;         // N
  bool hasIgnore = false;     // whether ignoreIndex is set
  int64_t ignoreIndex = -100;

  SEGLOSS_HD bool isIgnored(L label) const {
    return hasIgnore && static_cast<int64_t>(label) == ignoreIndex;
  }
  SEGLOSS_HD const T* pixelLogits(int64_t b, int64_t i) const { return logits + b * channels * pixels + i; }
  SEGLOSS_HD L label(int64_t b, int64_t i) const { return target[b * pixels + i]; }
};

// Where d value / d logits is written: [B, C, N], same dtype as the logits.
// data[i] = scale · grad_i, or data[i] += scale · grad_i when accumulating (compound losses).
template <typename T>
struct GradTarget {
  T* data = nullptr;  // [B, C, N]
  T scale = T(1);     // upstream gradient d outer / d value
  bool accumulate = false;
};

}  // namespace segloss
