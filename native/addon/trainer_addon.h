// The trainer's bindings (trainer_addon.cpp), registered into the torch addon's exports.
#pragma once

#include <napi.h>

namespace segloss::addon {

/// Adds the class `NativeTrainer` to `exports` (see trainer_addon.cpp for its interface).
void registerTrainer(Napi::Env env, Napi::Object exports);

}  // namespace segloss::addon
