// The compact inverse-transformation network of `inverseform` (spec 19): it reads a pair of
// 32×32 boundary tiles (channel 0: the predicted edge probability, channel 1: the target's edge
// map) and regresses the affine warp that takes the target's tile to the predicted one, as six
// numbers θ = (2(a11 − 1), 2 a12, 2 a21, 2(a22 − 1), tx / 4, ty / 4) (identity → 0). Plain C++
// (no libtorch): the core addon evaluates and differentiates it, and segloss trains it
// (inverse_form_training.h).
//
//   conv 2→8, 5×5, stride 2, pad 2, ReLU      [2, 32, 32] → [8, 16, 16]
//   conv 8→16, 5×5, stride 2, pad 2, ReLU     → [16, 8, 8]
//   linear 1024→32, ReLU; linear 32→6         → [6]
//
// Parameters, one flat float array in this order: w1 [8, 2, 5, 5], b1 [8], w2 [16, 8, 5, 5],
// b2 [16], w3 [32, 1024], b3 [32], w4 [6, 32], b4 [6].
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace segloss {

struct InverseFormNet {
  static constexpr int kTile = 32;  // input tiles are kTile × kTile
  static constexpr int kInputs = 2;
  static constexpr int kOutputs = 6;
  static constexpr int kC1 = 8, kC2 = 16, kHidden = 32, kKernel = 5;
  static constexpr int kS1 = kTile / 2, kS2 = kTile / 4;  // 16, 8
  static constexpr size_t kW1 = size_t(kC1) * kInputs * kKernel * kKernel;
  static constexpr size_t kW2 = size_t(kC2) * kC1 * kKernel * kKernel;
  static constexpr size_t kFlat = size_t(kC2) * kS2 * kS2;  // 1024
  static constexpr size_t kW3 = size_t(kHidden) * kFlat;
  static constexpr size_t kW4 = size_t(kOutputs) * kHidden;
  static constexpr size_t kParameterCount = kW1 + kC1 + kW2 + kC2 + kW3 + kHidden + kW4 + kOutputs;  // 36 622

  // The activations one forward pass keeps for its backward pass (after ReLU).
  template <typename T>
  struct Activations {
    std::vector<T> h1;  // [n, 8, 16, 16]
    std::vector<T> h2;  // [n, 16, 8, 8]
    std::vector<T> h3;  // [n, 32]
  };

  // y [n, 6] = net(x [n, 2, 32, 32]); `keep` (may be null) receives the activations.
  template <typename T>
  static void forward(const T* params, const T* x, int64_t n, T* y, Activations<T>* keep);

  // Given the forward's x and activations and dy [n, 6]: dx [n, 2, 32, 32] (written; may be null)
  // and dparams [kParameterCount] (accumulated; may be null).
  template <typename T>
  static void backward(const T* params, const T* x, int64_t n, const Activations<T>& act, const T* dy, T* dx,
                       T* dparams);
};

}  // namespace segloss
