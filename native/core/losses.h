// The core's public entry point: any loss on raw buffers, CPU engines. Type-erased views of the
// caller's buffers go in; the value comes out and, on request, d value / d logits is written.
// The CUDA engines (native/cuda/losses_cuda.h) take the same views over device pointers.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "activation.h"
#include "loss_list.h"

namespace segloss {

enum class ScalarType : int { Float32, Float64 };
enum class LabelType : int { UInt8, UInt16, Int32, Int64 };

struct LossTensors {
  const void* logits = nullptr;  // [B, C, N], dtype
  ScalarType dtype = ScalarType::Float32;
  const void* target = nullptr;  // [B, N], labelType
  LabelType labelType = LabelType::Int32;
  int64_t batch = 0;     // B
  int64_t channels = 0;  // C
  int64_t pixels = 0;    // N = H·W
  // The spatial shape of N, for the losses that compute distance maps (LossFamily::Map, boundary
  // DoU): spatialDims 2 ([H, W] = extent[1..2], extent[0] = 1) or 3 ([D, H, W]); 0 = not given
  // (those losses then throw LossArgumentError).
  int spatialDims = 0;
  int64_t extent[3] = {1, 1, 1};
  Activation activation = Activation::Softmax;
  bool hasIgnore = false;
  int64_t ignoreIndex = -100;
};

// d value / d logits: [B, C, N] with the logits' dtype; data = scale · grad (or += when accumulating).
// stateGrad (optional): scale · Σ over the terms with learned state (robust-t's θ) of
// weight · d term / d state is ADDED to *stateGrad (the caller zeroes it).
struct LossGradient {
  void* data = nullptr;
  double scale = 1.0;
  bool accumulate = false;
  double* stateGrad = nullptr;
};

// Thrown for violated invariants of the core (user-facing wording lives in TypeScript).
class LossArgumentError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// C = 1 with softmax is rejected (LossArgumentError); C = 1 maps to the binary forms.
PixelActivationKind resolveActivation(Activation activation, int64_t channels);

// First flat index into target [B, N] holding a label outside [0, K) that is not the ignore
// index, or −1 when every label is valid.
int64_t findInvalidLabel(const LossTensors& tensors);

// First flat index into logits [B, C, N] holding NaN or ±∞, or −1.
int64_t findNonFiniteLogit(const LossTensors& tensors);

// One term of a compound objective Σ weight · loss.
struct WeightedLossOptions {
  LossOptions options;
  double weight = 1.0;
};

// Throws LossArgumentError when an option breaks its loss's invariants (LossOptions::invalid) or
// an array option has the wrong length for K classes.
void checkLossOptions(const LossOptions& options, int classes);

// Runs Σ weight · loss on the CPU engine (tile_engine_cpu.h, compiled per instruction set and
// chosen at load: cpu_isa.h): one activation per tile and pass shared by all terms, on the
// persistent thread pool. grad may be null (value only). Throws LossArgumentError when the shapes,
// labels or options break the core's invariants, or a logit is not finite (labels and logits are
// checked inside the engine's first pass; with grad, the gradient is then left partly written).
double computeLossCpu(const LossTensors& tensors, const std::vector<WeightedLossOptions>& terms,
                      const LossGradient* grad);

// One loss (weight 1).
double computeLossCpu(const LossTensors& tensors, const LossOptions& options, const LossGradient* grad);

}  // namespace segloss
