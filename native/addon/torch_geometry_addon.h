// Node-API bindings of native/torch/distance_maps_torch.h (checks of the tensor path from
// JavaScript), registered on the torch addon's exports by torch_addon.cpp's init.
#pragma once

#include <napi.h>

namespace segloss::addon {

// Adds distanceTransformTorch and targetMapCacheCheck (see torch_geometry_addon.cpp).
void registerTorchGeometry(Napi::Env env, Napi::Object exports);

}  // namespace segloss::addon
