// What a special loss (LossFamily::Special: Lovász's sort, TopK's selection …) reads and writes.
// The engine's first pass activates every pixel once for all terms and stores the batch's
// probabilities (and, when a term asks, log-probabilities) and labels; the loss then computes its
// value and adds u = p · d value / d p per (image, class, pixel); the engine's gradient pass turns
// the sum of all terms' u into d value / d logits with the activation's Jacobian (tile_kernels_cpu.h).
//
// A special functor provides:
//   static constexpr LossFamily kFamily = LossFamily::Special;
//   bool needsLogProb() const;                           // whether in.logProb must be filled
//   template <typename T>
//   double run(const ActivatedBatch<T>& in, T* u, double factor) const;
//     // returns the value; when u != nullptr adds factor · p · ∂value/∂p to u [B, K, N]
// run is called only when the batch has a valid pixel (else the value is 0 and u untouched).
#pragma once

#include <cstdint>

namespace segloss {

template <typename T>
struct ActivatedBatch {
  const T* prob = nullptr;         // [B, K, N] p
  const T* logProb = nullptr;      // [B, K, N] log p (softmax: z − lse, exact), or nullptr unless needsLogProb
  const int32_t* label = nullptr;  // [B, N] class in [0, K), or −1 for ignored pixels
  int64_t batch = 0;               // B
  int classes = 0;                 // K
  int64_t pixels = 0;              // N per image
  int64_t validPixels = 0;         // labels ≥ 0

  const T* probRow(int64_t b, int c) const { return prob + (b * classes + c) * pixels; }
  const T* logProbRow(int64_t b, int c) const { return logProb + (b * classes + c) * pixels; }
  const int32_t* labelRow(int64_t b) const { return label + b * pixels; }
};

}  // namespace segloss
