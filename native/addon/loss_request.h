// The resolved loss request that TypeScript hands to native code (src/native/resolved.ts documents
// the same format), read into the core's plain structs. Shared by the core addon and the torch
// addon. TypeScript has validated every user-facing value; this code only checks invariants and
// throws NativeTypeError / LossArgumentError (errors.h turns them into JS errors).
//
//   { gradScale: number,                    // upstream gradient d outer / d value
//     terms: [ {                            // value = Σ weight · term value
//       id: string,                         // a loss of native/core/loss_list.h
//       weight: number,
//       activation: 'softmax' | 'sigmoid' | 'none',
//       ignoreIndex: number | null,
//       ...the loss's options: one field per entry of its Options::fields()
//       (boolean, number, or number[] / Float64Array / null for array options)
//     } ] }
// The options are read by one generic reader driven by those field lists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <napi.h>

#include "../core/loss_term.h"

namespace segloss::addon {

struct LossRequest {
  std::vector<LossTerm> terms;  // at least one
  double gradScale = 1.0;              // upstream gradient
};

// Reads request.terms (the array of resolved terms).
std::vector<LossTerm> readLossTerms(Napi::Object request);
// Reads the whole resolved request (terms and gradScale).
LossRequest readLossRequest(Napi::Object request);

// Throws LossArgumentError when a term does not fit logits with `channels` channels
// (an array option of the wrong length for K, softmax with C = 1).
void checkLossTerms(const std::vector<LossTerm>& terms, int64_t channels);

// Σ weight_t · value_t on the CPU engine. With grad, writes grad->scale · d value / d logits
// (accumulating when grad->accumulate). tensors' activation / ignore fields are taken from the
// terms; consecutive terms sharing them run in one compound pass.
double computeLossTermsCpu(const LossTensors& tensors, const std::vector<LossTerm>& terms,
                           const LossGradient* grad);

// The generic field readers, for entry points outside the engine's list (native/core/standalone):
// one resolved field by its C++ type, the term's ignoreIndex (null → none), a number of the request.
void readResolvedField(Napi::Object term, const char* name, bool& out);
void readResolvedField(Napi::Object term, const char* name, double& out);
void readResolvedField(Napi::Object term, const char* name, int& out);
void readResolvedField(Napi::Object term, const char* name, DoubleArray& out);
std::optional<int64_t> readResolvedIgnoreIndex(Napi::Object term);
double readResolvedNumber(Napi::Object object, const char* name);

// Options (a struct with fields() and invalid()) read field by field from a resolved term.
template <class Options>
Options readResolvedOptions(Napi::Object term) {
  Options options;
  forEachField<Options>([&](const auto& spec) { readResolvedField(term, spec.name, options.*(spec.member)); });
  if (const char* problem = options.invalid()) throw LossArgumentError(std::string("resolved ") + problem);
  return options;
}

}  // namespace segloss::addon
