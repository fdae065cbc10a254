// The core addon: every loss of native/core on raw typed arrays, synchronously or on a libuv
// worker thread. Thin by design: TypeScript (src/compute.ts) has validated the input and resolved
// the options into the flat request of loss_request.h; this file only converts and calls.
//
// JavaScript signature (src/native/core.ts holds the matching TypeScript interface):
//   computeLoss(logits, target, dims, request, grad, stateGrad?) → number
//   computeLossAsync(logits, target, dims, request, grad, stateGrad?) → Promise<number>
//     (copies logits and target when called; writes grad on the worker thread)
//     logits: Float32Array | Float64Array   // [B, C, N]
//     target: Uint8Array | Uint16Array | Int32Array   // [B, N]
//     dims:   [B, C, H, W] or [B, C, D, H, W] (or [B, C, N]: no spatial shape, so no distance-map loss)
//     request: resolved request (loss_request.h)
//     grad:   null, or a TypedArray of the logits' type and length   // [B, C, N], written
//     stateGrad: absent / null, or a Float64Array [1] (with grad): receives gradScale · Σ weight ·
//             d term / d learned state over the terms with learned state (robust-t's θ)
//   buildInfo() → { napiVersion, compiler, cxxStandard }
//   targetMapCacheInfo(clear?) → { hits, misses, entries, bytes, capacityBytes }
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "../core/cpu_isa.h"
#include "../core/parallel_cpu.h"
#include "../core/target_maps.h"
#include "errors.h"
#include "geometry_addon.h"
#include "loss_request.h"
#include "standalone_losses_addon.h"
#include "staged_output.h"
#include "typed_arrays.h"

namespace segloss::addon {
namespace {

// Everything one loss call needs, detached from Node-API (the "baton").
struct LossCall {
  LossTensors tensors;
  LossRequest request;
  void* grad = nullptr;  // [B, C, N] with the logits' dtype, or null
  double* stateGrad = nullptr;  // [1] d value / d learned state, or null (needs grad)
};

int64_t readDim(Napi::Array dims, uint32_t index) {
  const Napi::Value value = dims.Get(index);
  if (!value.IsNumber()) throw NativeTypeError("dims holds a non-number");
  return value.As<Napi::Number>().Int64Value();
}

// Bytes of a [count] array of the dtype / label type.
size_t scalarBytes(ScalarType type, int64_t count) {
  return static_cast<size_t>(count) * (type == ScalarType::Float64 ? sizeof(double) : sizeof(float));
}
size_t labelBytes(LabelType type, int64_t count) {
  const size_t size = type == LabelType::UInt8    ? sizeof(uint8_t)
                      : type == LabelType::UInt16 ? sizeof(uint16_t)
                      : type == LabelType::Int64  ? sizeof(int64_t)
                                                  : sizeof(int32_t);
  return static_cast<size_t>(count) * size;
}

// Whether the byte ranges [a, a + aBytes) and [b, b + bBytes) share a byte.
bool overlaps(const void* a, size_t aBytes, const void* b, size_t bBytes) {
  const auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return aBytes > 0 && bBytes > 0 && x < y + bBytes && y < x + aBytes;
}

LossCall readLossCall(const Napi::CallbackInfo& info) {
  if (info.Length() < 5) throw NativeTypeError("expected (logits, target, dims, request, grad)");
  const uint32_t rank = info[2].IsArray() ? info[2].As<Napi::Array>().Length() : 0;
  if (rank < 3 || rank > 5) throw NativeTypeError("dims is not [B, C, N], [B, C, H, W] or [B, C, D, H, W]");
  if (!info[3].IsObject()) throw NativeTypeError("request is not an object");
  const Napi::Array dims = info[2].As<Napi::Array>();
  const ScalarView logits = readScalarArray(info[0], "logits");
  const LabelView target = readLabelArray(info[1], "target");
  LossCall call;
  int64_t pixels = 1;
  for (uint32_t d = 2; d < rank; ++d) pixels *= readDim(dims, d);
  call.tensors = makeLossTensors(logits, target, readDim(dims, 0), readDim(dims, 1), pixels);
  if (rank > 3) {
    call.tensors.spatialDims = static_cast<int>(rank - 2);
    for (uint32_t d = 2; d < rank; ++d) call.tensors.extent[3 - (rank - 2) + (d - 2)] = readDim(dims, d);
  }
  call.request = readLossRequest(info[3].As<Napi::Object>());
  if (!info[4].IsNull() && !info[4].IsUndefined()) {
    const ScalarView grad = readScalarArray(info[4], "grad");
    if (grad.type != logits.type || grad.length != logits.length) {
      throw LossArgumentError("grad does not have the logits' type and length");
    }
    if (overlaps(grad.data, scalarBytes(grad.type, grad.length), logits.data, scalarBytes(logits.type, logits.length)) ||
        overlaps(grad.data, scalarBytes(grad.type, grad.length), target.data, labelBytes(target.type, target.length))) {
      throw LossArgumentError("grad overlaps the logits or the target");
    }
    call.grad = grad.data;
  }
  if (info.Length() > 5 && !info[5].IsNull() && !info[5].IsUndefined()) {
    if (!info[5].IsTypedArray() || info[5].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[5].As<Napi::TypedArray>().ElementLength() != 1) {
      throw NativeTypeError("stateGrad is not a Float64Array of length 1");
    }
    if (!call.grad) throw LossArgumentError("stateGrad needs grad");
    call.stateGrad = info[5].As<Napi::Float64Array>().Data();
  }
  checkLossTerms(call.request.terms, call.tensors.channels);
  return call;
}

double runLossCall(const LossCall& call) {
  if (call.stateGrad) *call.stateGrad = 0.0;
  const LossGradient grad{call.grad, call.request.gradScale, false, call.stateGrad};
  return computeLossTermsCpu(call.tensors, call.request.terms, call.grad ? &grad : nullptr);
}

Napi::Value ComputeLoss(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    const LossCall call = readLossCall(info);
    return Napi::Number::New(info.Env(), runLossCall(call));
  });
}

// Runs one loss call on a libuv worker thread. The logits and target are copied when the call
// starts (so the caller may reuse, modify or transfer them at once); the gradient is written into
// a copy the worker owns and copied into the grad array on the main thread when it is done
// (staged_output.h: the caller may detach or transfer a gradOut array meanwhile). Execute()
// touches only the baton, never Node-API.
class LossWorker : public Napi::AsyncWorker {
 public:
  LossWorker(Napi::Env env, LossCall call, Napi::Value grad, Napi::Value stateGrad)
      : Napi::AsyncWorker(env, "segloss:computeLoss"), call_(std::move(call)), deferred_(env) {
    const LossTensors& t = call_.tensors;
    const auto* logits = static_cast<const uint8_t*>(t.logits);
    const auto* target = static_cast<const uint8_t*>(t.target);
    logits_.assign(logits, logits + scalarBytes(t.dtype, t.batch * t.channels * t.pixels));
    target_.assign(target, target + labelBytes(t.labelType, t.batch * t.pixels));
    call_.tensors.logits = logits_.data();
    call_.tensors.target = target_.data();
    if (call_.grad) {
      grad_ = StagedOutput(grad, "grad");
      call_.grad = grad_.data();
    }
    if (call_.stateGrad) {
      stateGrad_ = StagedOutput(stateGrad, "stateGrad");
      call_.stateGrad = static_cast<double*>(stateGrad_.data());
    }
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      value_ = runLossCall(call_);
    } catch (...) {
      failure_ = captureFailure(std::current_exception());
    }
  }
  void OnOK() override {
    if (!failure_) {
      try {
        grad_.commit();
        stateGrad_.commit();
      } catch (...) {
        failure_ = captureFailure(std::current_exception());
      }
    }
    if (failure_) {
      deferred_.Reject(toJsError(Env(), *failure_).Value());
    } else {
      deferred_.Resolve(Napi::Number::New(Env(), value_));
    }
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  LossCall call_;
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> logits_;  // [B, C, N] copy of the logits' bytes
  std::vector<uint8_t> target_;  // [B, N] copy of the target's bytes
  StagedOutput grad_;            // [B, C, N] the worker's gradient, copied into the grad array in OnOK
  StagedOutput stateGrad_;       // [1] d value / d learned state, copied in OnOK (when asked for)
  double value_ = 0.0;
  std::optional<NativeFailure> failure_;
};

Napi::Value ComputeLossAsync(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    auto* worker = new LossWorker(info.Env(), readLossCall(info), info[4], info.Length() > 5 ? info[5] : info.Env().Undefined());
    const Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  });
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  result.Set("compiler", Napi::String::New(env, __VERSION__));
  result.Set("cxxStandard", Napi::Number::New(env, static_cast<double>(__cplusplus)));
  return result;
}

// { active: 'sse2' | 'avx2' | 'avx512', supported: [...], threads } — the CPU kernels in use
// (SEGLOSS_CPU_ISA or the best the processor runs) and the engine's threads. Throws when
// SEGLOSS_CPU_ISA names an unknown or unsupported instruction set.
Napi::Value CpuEngineInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guardNative(env, [&]() -> Napi::Value {
    Napi::Object result = Napi::Object::New(env);
    result.Set("active", Napi::String::New(env, cpuIsaName(activeCpuIsa())));
    const std::vector<CpuIsa> supported = supportedCpuIsas();
    Napi::Array list = Napi::Array::New(env, supported.size());
    for (size_t i = 0; i < supported.size(); ++i) list.Set(static_cast<uint32_t>(i), Napi::String::New(env, cpuIsaName(supported[i])));
    result.Set("supported", list);
    result.Set("threads", Napi::Number::New(env, cpuEngineThreads()));
    return result;
  });
}

// { hits, misses, entries, bytes, capacityBytes } of the target-map cache (target_maps.h); with
// `clear` true, the cache is emptied first (and its counters zeroed).
Napi::Value TargetMapCacheInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guardNative(env, [&]() -> Napi::Value {
    if (info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value()) clearTargetMapCache();
    const TargetMapCacheStats stats = targetMapCacheStats();
    Napi::Object result = Napi::Object::New(env);
    result.Set("hits", Napi::Number::New(env, static_cast<double>(stats.hits)));
    result.Set("misses", Napi::Number::New(env, static_cast<double>(stats.misses)));
    result.Set("entries", Napi::Number::New(env, static_cast<double>(stats.entries)));
    result.Set("bytes", Napi::Number::New(env, static_cast<double>(stats.bytes)));
    result.Set("capacityBytes", Napi::Number::New(env, static_cast<double>(stats.capacityBytes)));
    return result;
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("computeLoss", Napi::Function::New(env, ComputeLoss, "computeLoss"));
  exports.Set("computeLossAsync", Napi::Function::New(env, ComputeLossAsync, "computeLossAsync"));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("cpuEngineInfo", Napi::Function::New(env, CpuEngineInfo, "cpuEngineInfo"));
  exports.Set("targetMapCacheInfo", Napi::Function::New(env, TargetMapCacheInfo, "targetMapCacheInfo"));
  registerGeometry(env, exports);
  registerStandaloneLosses(env, exports);
  return exports;
}

}  // namespace
}  // namespace segloss::addon

static Napi::Object InitCoreAddon(Napi::Env env, Napi::Object exports) { return segloss::addon::Init(env, exports); }

NODE_API_MODULE(segloss_core, InitCoreAddon)
