// The torch addon's geometry functions: the tensor path of the distance transform and of the
// target-map cache, for tests and checks from JavaScript (native training code calls
// native/torch/distance_maps_torch.h directly). Arguments are validated in TypeScript first.
//
// JavaScript signatures (src/torch/geometry-addon.ts holds the matching TypeScript interface):
//   distanceTransformTorch(mask: Uint8Array, shape: number[], spatialDims: 2 | 3, spacing: [sD, sH, sW],
//                          float32: boolean) → Float64Array | Float32Array
//     (mask copied into a CPU tensor, transformed by torch_ops::distanceTransform, copied out)
//   targetMapCacheCheck(target: Int32Array, shape: number[], classes, kind: 'boundary' | 'region-wise' |
//                       'hausdorff-dt' | 'distance-map-ce', spatialDims, spacing) → {
//       maps: Float64Array,          // [B, C, ...] of the target (a miss)
//       sameTensorOnHit: boolean,    // a second get returns the cached tensor itself
//       recomputedAfterInPlace: boolean, // after target.mul_(1) (version bump, same values) it recomputes
//       mapsAfterWrite: Float64Array,    // after target.fill_(0) in place: the maps of the new labels
//       hits, misses }
#include "torch_geometry_addon.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../torch/distance_maps_torch.h"
#include "errors.h"

namespace segloss::addon {
namespace {

// guardNative, with libtorch's errors reported without their C++ backtrace.
template <class F>
Napi::Value guardTensors(Napi::Env env, F&& f) {
  return guardNative(env, [&]() -> Napi::Value {
    try {
      return f();
    } catch (const c10::Error& e) {
      throw std::runtime_error(std::string("libtorch: ") + e.what_without_backtrace());
    }
  });
}

std::vector<int64_t> readShape(Napi::Value value) {
  if (!value.IsArray()) throw NativeTypeError("shape is not an array");
  const Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const Napi::Value entry = array.Get(i);
    if (!entry.IsNumber()) throw NativeTypeError("shape holds a non-number");
    shape.push_back(entry.As<Napi::Number>().Int64Value());
  }
  return shape;
}

torch_ops::TorchGridOptions readGridOptions(Napi::Value dims, Napi::Value spacing) {
  if (!dims.IsNumber() || !spacing.IsArray() || spacing.As<Napi::Array>().Length() != 3) {
    throw NativeTypeError("expected spatialDims and spacing [3]");
  }
  torch_ops::TorchGridOptions options;
  options.spatialDims = dims.As<Napi::Number>().Int32Value();
  for (uint32_t a = 0; a < 3; ++a) options.spacing[a] = spacing.As<Napi::Array>().Get(a).As<Napi::Number>().DoubleValue();
  return options;
}

int64_t elementCount(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

// A CPU tensor holding a copy of the TypedArray's elements.
template <class T>
at::Tensor tensorFrom(Napi::TypedArrayOf<T> array, const std::vector<int64_t>& shape, at::ScalarType type) {
  if (static_cast<int64_t>(array.ElementLength()) != elementCount(shape)) {
    throw std::invalid_argument("array length does not match shape");
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(type));
  std::memcpy(t.data_ptr(), array.Data(), array.ElementLength() * sizeof(T));
  return t;
}

Napi::Float64Array float64From(Napi::Env env, const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  Napi::Float64Array out = Napi::Float64Array::New(env, static_cast<size_t>(c.numel()));
  std::memcpy(out.Data(), c.data_ptr<double>(), static_cast<size_t>(c.numel()) * sizeof(double));
  return out;
}

torch_ops::TargetMap readKind(Napi::Value value) {
  if (!value.IsString()) throw NativeTypeError("kind is not a string");
  const std::string kind = value.As<Napi::String>().Utf8Value();
  if (kind == "boundary") return torch_ops::TargetMap::Boundary;
  if (kind == "region-wise") return torch_ops::TargetMap::RegionWise;
  if (kind == "hausdorff-dt") return torch_ops::TargetMap::HausdorffDT;
  if (kind == "distance-map-ce") return torch_ops::TargetMap::DistancePenalty;
  throw std::invalid_argument("unknown target map kind");
}

Napi::Value DistanceTransformTorch(const Napi::CallbackInfo& info) {
  return guardTensors(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw NativeTypeError("mask is not a Uint8Array");
    }
    const std::vector<int64_t> shape = readShape(info[1]);
    const at::Tensor mask = tensorFrom(info[0].As<Napi::Uint8Array>(), shape, at::kByte);
    const bool float32 = info[4].ToBoolean().Value();
    const at::Tensor d = torch_ops::distanceTransform(mask, readGridOptions(info[2], info[3]), float32 ? at::kFloat : at::kDouble);
    if (!float32) return float64From(info.Env(), d);
    Napi::Float32Array out = Napi::Float32Array::New(info.Env(), static_cast<size_t>(d.numel()));
    std::memcpy(out.Data(), d.data_ptr<float>(), static_cast<size_t>(d.numel()) * sizeof(float));
    return out;
  });
}

Napi::Value TargetMapCacheCheck(const Napi::CallbackInfo& info) {
  return guardTensors(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw NativeTypeError("target is not an Int32Array");
    }
    const std::vector<int64_t> shape = readShape(info[1]);
    at::Tensor target = tensorFrom(info[0].As<Napi::Int32Array>(), shape, at::kInt);
    if (!info[2].IsNumber()) throw NativeTypeError("classes is not a number");
    const int64_t classes = info[2].As<Napi::Number>().Int64Value();
    const torch_ops::TargetMap kind = readKind(info[3]);
    const torch_ops::TorchGridOptions options = readGridOptions(info[4], info[5]);
    torch_ops::TargetMapCache cache(4);
    const at::Tensor first = cache.get(target, classes, kind, options);
    const at::Tensor second = cache.get(target, classes, kind, options);
    target.mul_(1);  // in place: same values, new version
    const at::Tensor third = cache.get(target, classes, kind, options);
    target.fill_(0);
    const at::Tensor fourth = cache.get(target, classes, kind, options);
    Napi::Object result = Napi::Object::New(env);
    result.Set("maps", float64From(env, first));
    result.Set("sameTensorOnHit", Napi::Boolean::New(env, second.is_same(first)));
    result.Set("recomputedAfterInPlace", Napi::Boolean::New(env, !third.is_same(first) && at::equal(third, first)));
    result.Set("mapsAfterWrite", float64From(env, fourth));
    result.Set("hits", Napi::Number::New(env, static_cast<double>(cache.hits())));
    result.Set("misses", Napi::Number::New(env, static_cast<double>(cache.misses())));
    return result;
  });
}

}  // namespace

void registerTorchGeometry(Napi::Env env, Napi::Object exports) {
  exports.Set("distanceTransformTorch", Napi::Function::New(env, DistanceTransformTorch, "distanceTransformTorch"));
  exports.Set("targetMapCacheCheck", Napi::Function::New(env, TargetMapCacheCheck, "targetMapCacheCheck"));
}

}  // namespace segloss::addon
