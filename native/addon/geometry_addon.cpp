// The core addon's geometry functions. Thin: TypeScript (src/geometry.ts, src/metrics.ts) has
// validated the arguments and allocated the outputs; this file converts, checks invariants and
// calls native/core/geometry.
//
// JavaScript signatures (src/native/geometry.ts holds the matching TypeScript interface):
//   grid = { maps, spatialDims, depth, height, width, spacing: [sD, sH, sW] }
//   distanceTransform(mask: Uint8Array, grid, out: Float64Array | Float32Array) → undefined
//   distanceTransformAsync(mask, grid, out) → Promise<undefined> (mask copied at the call)
//   distanceMap(kind: 'boundary' | 'region-wise' | 'hausdorff' | 'penalty', mask, grid, out: Float64Array)
//   morphology(op: 'erode' | 'dilate' | 'inner' | 'outer', mask, grid, connectivity: 1 | 2, out: Uint8Array)
//   caseDice(pred: Uint8Array, target: Uint8Array, policy: 0 | 1) → dice
//   caseMetrics(pred: Uint8Array, target: Uint8Array, grid, policy: 0 | 1) → [dice, hd95]
//   volumeMetrics(pred, target: Uint8Array | Uint16Array | Int32Array, grid, classes, policy, out: Float64Array)
//     out [classes − 1, 2] = (dice, hd95) per class 1..classes−1
//   volumeMetricsAsync(pred, target, grid, classes, policy, out) → Promise<undefined> (labels copied)
//   confusionMatrix(pred, target, classes, ignoreIndex: number | null, matrix: Float64Array) (accumulates)
//   meanIoU(matrix: Float64Array, classes, perClass: Float64Array) → number
#include "geometry_addon.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../core/geometry/distance_maps.h"
#include "../core/geometry/distance_transform.h"
#include "../core/geometry/morphology.h"
#include "../core/geometry/segmentation_metrics.h"
#include "errors.h"
#include "staged_output.h"
#include "typed_arrays.h"

namespace segloss::addon {
namespace {

using geometry::GeometryArgumentError;
using geometry::GridShape;

// A batch of maps on a grid.
struct GridBatch {
  int64_t maps = 1;
  GridShape grid;
  int64_t elements() const { return maps * grid.voxels(); }
};

double readNumber(Napi::Object object, const char* key) {
  const Napi::Value value = object.Get(key);
  if (!value.IsNumber()) throw NativeTypeError(std::string("grid.") + key + " is not a number");
  return value.As<Napi::Number>().DoubleValue();
}

// A grid count: an integer in [0, 2^31).
int64_t readCount(Napi::Object object, const char* key) {
  const double value = readNumber(object, key);
  if (!(value >= 0 && value < 2147483648.0) || value != std::floor(value)) {
    throw GeometryArgumentError(std::string("grid.") + key + " is not an integer in [0, 2^31)");
  }
  return static_cast<int64_t>(value);
}

GridBatch readGrid(Napi::Value value) {
  if (!value.IsObject()) throw NativeTypeError("grid is not an object");
  const Napi::Object object = value.As<Napi::Object>();
  GridBatch batch;
  batch.maps = readCount(object, "maps");
  batch.grid.spatialDims = static_cast<int>(readCount(object, "spatialDims"));
  batch.grid.depth = readCount(object, "depth");
  batch.grid.height = readCount(object, "height");
  batch.grid.width = readCount(object, "width");
  const Napi::Value spacing = object.Get("spacing");
  if (!spacing.IsArray() || spacing.As<Napi::Array>().Length() != 3) throw NativeTypeError("grid.spacing is not [3]");
  for (uint32_t axis = 0; axis < 3; ++axis) {
    const Napi::Value s = spacing.As<Napi::Array>().Get(axis);
    if (!s.IsNumber()) throw NativeTypeError("grid.spacing holds a non-number");
    batch.grid.spacing[axis] = s.As<Napi::Number>().DoubleValue();
  }
  geometry::checkGrid(batch.grid);
  // Element counts stay below 2^53 (exact in a double, no int64 overflow).
  const double elements = static_cast<double>(batch.maps) * static_cast<double>(batch.grid.depth) *
                          static_cast<double>(batch.grid.height) * static_cast<double>(batch.grid.width);
  if (elements >= 9007199254740992.0) throw GeometryArgumentError("grid has too many elements");
  return batch;
}

// A Uint8Array of exactly `length` elements.
uint8_t* readMask(Napi::Value value, const char* name, int64_t length) {
  const LabelView view = readLabelArray(value, name);
  if (view.type != LabelType::UInt8) throw NativeTypeError(std::string(name) + " is not a Uint8Array");
  if (view.length != length) throw GeometryArgumentError(std::string(name) + " length does not match the grid");
  return static_cast<uint8_t*>(const_cast<void*>(view.data));
}

LabelView readLabels(Napi::Value value, const char* name, int64_t length) {
  const LabelView view = readLabelArray(value, name);
  if (view.length != length) throw GeometryArgumentError(std::string(name) + " length does not match");
  return view;
}

ScalarView readOutput(Napi::Value value, const char* name, int64_t length) {
  const ScalarView view = readScalarArray(value, name);
  if (view.length != length) throw GeometryArgumentError(std::string(name) + " length does not match");
  return view;
}

double* readFloat64(Napi::Value value, const char* name, int64_t length) {
  const ScalarView view = readOutput(value, name, length);
  if (view.type != ScalarType::Float64) throw NativeTypeError(std::string(name) + " is not a Float64Array");
  return static_cast<double*>(view.data);
}

int64_t readInteger(Napi::Value value, const char* name) {
  if (!value.IsNumber()) throw NativeTypeError(std::string(name) + " is not a number");
  return value.As<Napi::Number>().Int64Value();
}

// A class count: an integer in [1, 2^31) (so classes² and 2·classes fit an int64).
int64_t readClasses(Napi::Value value) {
  if (!value.IsNumber()) throw NativeTypeError("classes is not a number");
  const double classes = value.As<Napi::Number>().DoubleValue();
  if (!(classes >= 1 && classes < 2147483648.0) || classes != std::floor(classes)) {
    throw GeometryArgumentError("classes is not an integer in [1, 2^31)");
  }
  return static_cast<int64_t>(classes);
}

geometry::EmptyMaskPolicy readPolicy(Napi::Value value) {
  const int64_t policy = readInteger(value, "policy");
  if (policy != 0 && policy != 1) throw GeometryArgumentError("policy must be 0 or 1");
  return static_cast<geometry::EmptyMaskPolicy>(policy);
}

void runDistanceTransform(const uint8_t* mask, const GridBatch& batch, const ScalarView& out) {
  if (out.type == ScalarType::Float64) {
    geometry::euclideanDistanceTransform(mask, batch.maps, batch.grid, static_cast<double*>(out.data));
  } else {
    geometry::euclideanDistanceTransform(mask, batch.maps, batch.grid, static_cast<float*>(out.data));
  }
}

// Calls f(pointer) with the label view's data cast to its element type.
template <class F>
void withLabels(const LabelView& view, const F& f) {
  switch (view.type) {
    case LabelType::UInt8: return f(static_cast<const uint8_t*>(view.data));
    case LabelType::UInt16: return f(static_cast<const uint16_t*>(view.data));
    case LabelType::Int32: return f(static_cast<const int32_t*>(view.data));
    case LabelType::Int64: break;  // not a TypedArray label type of the core addon
  }
  throw NativeTypeError("labels are not a Uint8Array, Uint16Array or Int32Array");
}

void runVolumeMetrics(const LabelView& pred, const LabelView& target, const GridShape& grid, int64_t classes,
                      geometry::EmptyMaskPolicy policy, double* out) {
  if (pred.type != target.type) throw NativeTypeError("pred and target have different label types");
  std::vector<geometry::CaseMetrics> cases(static_cast<size_t>(classes > 1 ? classes - 1 : 0));
  withLabels(pred, [&](const auto* p) {
    using Label = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
    geometry::volumeCaseMetrics(p, static_cast<const Label*>(target.data), grid, classes, policy, cases.data());
  });
  for (size_t c = 0; c < cases.size(); ++c) {
    out[2 * c] = cases[c].dice;
    out[2 * c + 1] = cases[c].hd95;
  }
}

// Runs `job(out)` on a libuv worker thread over buffers it owns, then copies its output into the
// caller's TypedArray and resolves with undefined. `out` is the worker's own copy of that array
// (staged_output.h), never the caller's memory. Execute() touches only the job, never Node-API.
class GeometryWorker : public Napi::AsyncWorker {
 public:
  GeometryWorker(Napi::Env env, const char* name, std::function<void(void*)> job, Napi::Value out)
      : Napi::AsyncWorker(env, name), job_(std::move(job)), deferred_(env), out_(out, "out") {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      job_(out_.data());
    } catch (...) {
      failure_ = captureFailure(std::current_exception());
    }
  }
  void OnOK() override {
    if (!failure_) {
      try {
        out_.commit();
      } catch (...) {
        failure_ = captureFailure(std::current_exception());
      }
    }
    if (failure_) {
      deferred_.Reject(toJsError(Env(), *failure_).Value());
    } else {
      deferred_.Resolve(Env().Undefined());
    }
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  std::function<void(void*)> job_;
  Napi::Promise::Deferred deferred_;
  StagedOutput out_;
  std::optional<NativeFailure> failure_;
};

Napi::Value queue(Napi::Env env, const char* name, std::function<void(void*)> job, Napi::Value out) {
  auto* worker = new GeometryWorker(env, name, std::move(job), out);
  const Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// A copy of a TypedArray's bytes that a worker owns.
std::shared_ptr<std::vector<uint8_t>> copyBytes(const void* data, size_t bytes) {
  const auto* begin = static_cast<const uint8_t*>(data);
  return std::make_shared<std::vector<uint8_t>>(begin, begin + bytes);
}

size_t labelElementSize(LabelType type) {
  for (const LabelTypeEntry& entry : kLabelTypes) {
    if (entry.type == type) return entry.elementSize;
  }
  return 1;
}

// Whether out's bytes share one with the mask's.
bool overlapsMask(const ScalarView& out, const uint8_t* mask, int64_t elements) {
  const auto o = reinterpret_cast<uintptr_t>(out.data), m = reinterpret_cast<uintptr_t>(mask);
  const uintptr_t outBytes = static_cast<uintptr_t>(out.length) * (out.type == ScalarType::Float64 ? 8 : 4);
  return elements > 0 && outBytes > 0 && o < m + static_cast<uintptr_t>(elements) && m < o + outBytes;
}

Napi::Value DistanceTransform(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    const GridBatch batch = readGrid(info[1]);
    const uint8_t* mask = readMask(info[0], "mask", batch.elements());
    const ScalarView out = readOutput(info[2], "out", batch.elements());
    if (overlapsMask(out, mask, batch.elements())) throw GeometryArgumentError("out may not overlap mask");
    runDistanceTransform(mask, batch, out);
    return info.Env().Undefined();
  });
}

Napi::Value DistanceTransformAsync(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    const GridBatch batch = readGrid(info[1]);
    const uint8_t* mask = readMask(info[0], "mask", batch.elements());
    const ScalarView out = readOutput(info[2], "out", batch.elements());
    auto copy = copyBytes(mask, static_cast<size_t>(batch.elements()));
    return queue(info.Env(), "segloss:distanceTransform", [copy, batch, out](void* staged) {
      runDistanceTransform(copy->data(), batch, ScalarView{staged, out.length, out.type});
    }, info[2]);
  });
}

Napi::Value DistanceMap(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString()) throw NativeTypeError("kind is not a string");
    const std::string kind = info[0].As<Napi::String>().Utf8Value();
    const GridBatch batch = readGrid(info[2]);
    const uint8_t* mask = readMask(info[1], "mask", batch.elements());
    double* out = readFloat64(info[3], "out", batch.elements());
    if (kind == "boundary") {
      geometry::boundarySignedDistance(mask, batch.maps, batch.grid, out);
    } else if (kind == "region-wise") {
      geometry::regionWiseRectifiedMap(mask, batch.maps, batch.grid, out);
    } else if (kind == "hausdorff") {
      geometry::hausdorffDistanceMap(mask, batch.maps, batch.grid, out);
    } else if (kind == "penalty") {
      geometry::distancePenaltyMap(mask, batch.maps, batch.grid, out);
    } else {
      throw GeometryArgumentError("unknown distance map kind");
    }
    return info.Env().Undefined();
  });
}

Napi::Value Morphology(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString()) throw NativeTypeError("op is not a string");
    const std::string op = info[0].As<Napi::String>().Utf8Value();
    const GridBatch batch = readGrid(info[2]);
    const uint8_t* mask = readMask(info[1], "mask", batch.elements());
    const int64_t connectivity = readInteger(info[3], "connectivity");
    if (connectivity != 1 && connectivity != 2) throw GeometryArgumentError("connectivity must be 1 or 2");
    uint8_t* out = readMask(info[4], "out", batch.elements());
    if (out == mask) throw GeometryArgumentError("out may not alias mask");
    const auto c = static_cast<geometry::Connectivity>(connectivity);
    if (op == "erode") {
      geometry::binaryErosion(mask, batch.maps, batch.grid, c, out);
    } else if (op == "dilate") {
      geometry::binaryDilation(mask, batch.maps, batch.grid, c, out);
    } else if (op == "inner") {
      geometry::innerBoundary(mask, batch.maps, batch.grid, c, out);
    } else if (op == "outer") {
      geometry::outerBoundary(mask, batch.maps, batch.grid, c, out);
    } else {
      throw GeometryArgumentError("unknown morphology op");
    }
    return info.Env().Undefined();
  });
}

Napi::Value CaseDice(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    const LabelView pred = readLabelArray(info[0], "pred");
    const uint8_t* p = readMask(info[0], "pred", pred.length);
    const uint8_t* t = readMask(info[1], "target", pred.length);
    return Napi::Number::New(info.Env(), geometry::caseDice(p, t, pred.length, readPolicy(info[2])));
  });
}

Napi::Value CaseMetrics(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    const GridBatch batch = readGrid(info[2]);
    if (batch.maps != 1) throw GeometryArgumentError("caseMetrics takes one map");
    const uint8_t* pred = readMask(info[0], "pred", batch.elements());
    const uint8_t* target = readMask(info[1], "target", batch.elements());
    const geometry::CaseMetrics m = geometry::caseMetrics(pred, target, batch.grid, readPolicy(info[3]));
    Napi::Array result = Napi::Array::New(info.Env(), 2);
    result.Set(0u, Napi::Number::New(info.Env(), m.dice));
    result.Set(1u, Napi::Number::New(info.Env(), m.hd95));
    return result;
  });
}

// The checked arguments of volumeMetrics / volumeMetricsAsync.
struct VolumeMetricsCall {
  LabelView pred, target;
  GridBatch batch;
  int64_t classes = 0;
  geometry::EmptyMaskPolicy policy = geometry::EmptyMaskPolicy::TransUNet;
  double* out = nullptr;  // [classes − 1, 2]
};

VolumeMetricsCall readVolumeMetricsCall(const Napi::CallbackInfo& info) {
  VolumeMetricsCall call;
  call.batch = readGrid(info[2]);
  if (call.batch.maps != 1) throw GeometryArgumentError("volumeMetrics takes one volume");
  call.pred = readLabels(info[0], "pred", call.batch.elements());
  call.target = readLabels(info[1], "target", call.batch.elements());
  call.classes = readClasses(info[3]);
  call.policy = readPolicy(info[4]);
  call.out = readFloat64(info[5], "out", 2 * (call.classes - 1));
  return call;
}

Napi::Value VolumeMetrics(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    const VolumeMetricsCall c = readVolumeMetricsCall(info);
    runVolumeMetrics(c.pred, c.target, c.batch.grid, c.classes, c.policy, c.out);
    return info.Env().Undefined();
  });
}

Napi::Value VolumeMetricsAsync(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    VolumeMetricsCall c = readVolumeMetricsCall(info);
    const size_t bytes = static_cast<size_t>(c.batch.elements()) * labelElementSize(c.pred.type);
    auto pred = copyBytes(c.pred.data, bytes);
    auto target = copyBytes(c.target.data, static_cast<size_t>(c.batch.elements()) * labelElementSize(c.target.type));
    return queue(info.Env(), "segloss:volumeMetrics", [c, pred, target](void* staged) mutable {
      c.pred.data = pred->data();
      c.target.data = target->data();
      runVolumeMetrics(c.pred, c.target, c.batch.grid, c.classes, c.policy, static_cast<double*>(staged));
    }, info[5]);
  });
}

Napi::Value ConfusionMatrix(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    const LabelView pred = readLabelArray(info[0], "pred");
    const LabelView target = readLabels(info[1], "target", pred.length);
    if (pred.type != target.type) throw NativeTypeError("pred and target have different label types");
    const int64_t classes = readClasses(info[2]);
    const bool hasIgnore = !info[3].IsNull() && !info[3].IsUndefined();
    const int64_t ignoreIndex = hasIgnore ? readInteger(info[3], "ignoreIndex") : 0;
    double* matrix = readFloat64(info[4], "matrix", classes * classes);
    withLabels(pred, [&](const auto* p) {
      using Label = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
      geometry::accumulateConfusionMatrix(p, static_cast<const Label*>(target.data), pred.length, classes, hasIgnore,
                                          ignoreIndex, matrix);
    });
    return info.Env().Undefined();
  });
}

Napi::Value MeanIoU(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    const int64_t classes = readClasses(info[1]);
    const double* matrix = readFloat64(info[0], "matrix", classes * classes);
    double* perClass = readFloat64(info[2], "perClass", classes);
    return Napi::Number::New(info.Env(), geometry::meanIntersectionOverUnion(matrix, classes, perClass));
  });
}

}  // namespace

void registerGeometry(Napi::Env env, Napi::Object exports) {
  const auto add = [&](const char* name, Napi::Function::Callback f) { exports.Set(name, Napi::Function::New(env, f, name)); };
  add("distanceTransform", DistanceTransform);
  add("distanceTransformAsync", DistanceTransformAsync);
  add("distanceMap", DistanceMap);
  add("morphology", Morphology);
  add("caseDice", CaseDice);
  add("caseMetrics", CaseMetrics);
  add("volumeMetrics", VolumeMetrics);
  add("volumeMetricsAsync", VolumeMetricsAsync);
  add("confusionMatrix", ConfusionMatrix);
  add("meanIoU", MeanIoU);
}

}  // namespace segloss::addon
