// Bindings of the losses that have their own native entry points (native/core/standalone): their
// inputs do not fit the engine's [B, C, N] logits + labels shape (docs/engine.md).
#pragma once

#include <napi.h>

namespace segloss::addon {

// Adds computeBoundaryAware(Async), decodeBoundaryAware, computeConditionalBoundary(Async) to the core addon's exports.
void registerStandaloneLosses(Napi::Env env, Napi::Object exports);

}  // namespace segloss::addon
