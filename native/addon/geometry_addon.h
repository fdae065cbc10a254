// Node-API bindings of native/core/geometry (distance transforms, distance maps, morphology,
// metrics), registered on the core addon's exports by core_addon.cpp's init.
#pragma once

#include <napi.h>

namespace segloss::addon {

// Adds the geometry functions (see geometry_addon.cpp for their JavaScript signatures).
void registerGeometry(Napi::Env env, Napi::Object exports);

}  // namespace segloss::addon
