// The resolved loss request that TypeScript hands to native code (src/native/resolved.ts documents
// the same format), read into the core's plain structs. Shared by the core addon and the torch
// addon. TypeScript has validated every user-facing value; this code only checks invariants and
// throws NativeTypeError / LossArgumentError (errors.h turns them into JS errors).
//
//   { gradScale: number,                    // upstream gradient d outer / d value
//     terms: [ {                            // value = Σ weight · term value
//       id: 'cross-entropy' | 'dice',
//       weight: number,
//       activation: 'softmax' | 'sigmoid' | 'none',
//       ignoreIndex: number | null,
//       // id 'cross-entropy':
//       classWeights: number[] | Float64Array | null, labelSmoothing: number,
//       // id 'dice':
//       perImage: boolean, includeBackground: boolean, smooth: number, squared: boolean,
//       logLoss: boolean, denominatorClamp: number, zeroAbsentClasses: boolean, offset: number,
//     } ] }
#pragma once

#include <cstdint>
#include <vector>

#include <napi.h>

#include "../core/losses.h"

namespace segloss::addon {

// One term of a (possibly compound) loss, owning everything its options point to.
struct LossTermRequest {
  LossOptions options;               // the loss and its options; pointers are set by lossOptions()
  std::vector<double> classWeights;  // [K] storage behind CrossEntropyOptions::classWeights; empty = none
  double weight = 1.0;               // factor of this term in the objective
  Activation activation = Activation::Softmax;
  bool hasIgnore = false;
  int64_t ignoreIndex = -100;

  // The options with their pointers into this request's storage (host memory).
  LossOptions lossOptions() const;
  // The options with classWeights pointing at `classWeightsData` instead (e.g. a device copy of
  // classWeights; pass nullptr when classWeights is empty).
  LossOptions lossOptions(const double* classWeightsData) const;
  // Sets the activation and ignore fields of `tensors` from this term.
  void applyTo(LossTensors& tensors) const;
};

struct LossRequest {
  std::vector<LossTermRequest> terms;  // at least one
  double gradScale = 1.0;              // upstream gradient
};

// Reads request.terms (the array of resolved terms).
std::vector<LossTermRequest> readLossTerms(Napi::Object request);
// Reads the whole resolved request (terms and gradScale).
LossRequest readLossRequest(Napi::Object request);

// Throws LossArgumentError when a term does not fit logits with `channels` channels
// (classWeights length ≠ K, softmax with C = 1).
void checkLossTerms(const std::vector<LossTermRequest>& terms, int64_t channels);

// Whether two terms can share one pass of the engine (same activation and ignore index).
bool sameActivationAndIgnore(const LossTermRequest& a, const LossTermRequest& b);

// Σ weight_t · value_t on the CPU engine. With grad, writes grad->scale · d value / d logits
// (accumulating when grad->accumulate). tensors' activation / ignore fields are taken from the
// terms; consecutive terms sharing them run in one compound pass.
double computeLossTermsCpu(const LossTensors& tensors, const std::vector<LossTermRequest>& terms,
                           const LossGradient* grad);

}  // namespace segloss::addon
