// The torch addon's bindings (CMakeLists.txt): the losses as the libtorch autograd op
// (native/torch/fused_loss.h) on tensors made from typed arrays, libtorch facts for `segloss
// doctor`, and the Dice + CE benchmark. Thin by design: TypeScript (src/torch/index.ts) has
// validated the input and resolved the options into the flat request of loss_request.h.
//
// JavaScript signature (src/torch/addon.ts holds the matching TypeScript interface):
//   info() → { torchVersion, builtAgainst, libtorchPath, builtLibtorchPath, cudaBuilt, cuda,
//              cudaDevices, deviceNames, threads, interopThreads }
//   lossBackward(logits, target, shape, request, device, grad, extra?) → { value, grad, gradNuParameter?, ... }
//     (extra: conditional-boundary's { features, featureChannels, classifierWeight, classifierBias };
//      its result also holds featuresGrad, classifierWeightGrad, classifierBiasGrad)
//   lossBackwardAsync(...same) → Promise<{ value, grad }>
//     logits: Float32Array | Float64Array            // [B, C, ...shape.slice(2)]
//     target: Uint8Array | Uint16Array | Int32Array  // [B, ...shape.slice(2)]
//     shape:  number[]                               // the logits' shape [B, C, ...]
//     request: resolved request (loss_request.h); gradScale is the upstream gradient
//     device: 'cpu' | 'cuda' | 'cuda:<i>'
//     grad:   whether to run backward: value.backward(gradScale) → logits.grad
//   benchDiceCe({ shape, iterations, warmup, dtype, device, threads, seed })
//     → { fusedMs[], atenMs[], fusedValue, atenValue, maxGradDiff, threads }
// Loading fails with a clear error (code SEGLOSS_LIBTORCH_MISMATCH) when the libtorch the process
// loaded is not the one this addon was built against.
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "../torch/loss_bench.h"
#include "../torch/fused_loss.h"
#include "../torch/standalone_losses_torch.h"
#include "../torch/torch_runtime.h"
#include "errors.h"
#include "loss_request.h"
#include "torch_geometry_addon.h"
#include "trainer_addon.h"
#include "typed_arrays.h"

namespace segloss::addon {
namespace {

// guardNative, with libtorch's errors reported without their C++ backtrace.
template <class F>
decltype(auto) guardTorch(Napi::Env env, F&& f) {
  return guardNative(env, [&]() -> decltype(auto) {
    try {
      return std::forward<F>(f)();
    } catch (const c10::Error& e) {
      throw std::runtime_error(std::string("libtorch: ") + e.what_without_backtrace());
    }
  });
}

Napi::Array stringArray(Napi::Env env, const std::vector<std::string>& values) {
  Napi::Array array = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) array.Set(static_cast<uint32_t>(i), values[i]);
  return array;
}

Napi::Array numberArray(Napi::Env env, const std::vector<double>& values) {
  Napi::Array array = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) array.Set(static_cast<uint32_t>(i), values[i]);
  return array;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  return guardTorch(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const torch_ops::TorchRuntimeInfo runtime = torch_ops::torchRuntimeInfo();
    Napi::Object result = Napi::Object::New(env);
    result.Set("torchVersion", runtime.version);
    result.Set("builtAgainst", runtime.builtAgainst);
    result.Set("libtorchPath", runtime.libraryDir);
    result.Set("builtLibtorchPath", runtime.builtLibraryDir);
    result.Set("cudaBuilt", runtime.cudaBuilt);
    result.Set("cuda", runtime.cudaAvailable);
    result.Set("cudaDevices", runtime.cudaDevices);
    result.Set("deviceNames", stringArray(env, runtime.deviceNames));
    result.Set("threads", runtime.threads);
    result.Set("interopThreads", runtime.interopThreads);
    return result;
  });
}

std::vector<int64_t> readShape(Napi::Value value) {
  if (!value.IsArray()) throw NativeTypeError("shape is not an array");
  const Napi::Array array = value.As<Napi::Array>();
  if (array.Length() < 2) throw LossArgumentError("shape must be [B, C, ...]");
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const Napi::Value dim = array.Get(i);
    if (!dim.IsNumber()) throw NativeTypeError("shape holds a non-number");
    const double d = dim.As<Napi::Number>().DoubleValue();
    if (!(d >= 1.0 && d <= 9007199254740991.0) || static_cast<double>(static_cast<int64_t>(d)) != d) {
      throw LossArgumentError("shape holds a dimension that is not a positive integer");
    }
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

int64_t product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (const int64_t d : dims) {
    if (n > INT64_MAX / d) throw LossArgumentError("shape overflows int64");
    n *= d;
  }
  return n;
}

// A CPU tensor owning a copy of the logits [B, C, ...].
at::Tensor logitsTensor(const ScalarView& view, const std::vector<int64_t>& shape) {
  if (view.length != product(shape)) throw LossArgumentError("logits length is not the product of shape");
  const at::ScalarType type = view.type == ScalarType::Float64 ? at::kDouble : at::kFloat;
  return at::from_blob(view.data, shape, at::TensorOptions().dtype(type)).clone();
}

// A CPU tensor owning a copy of the labels [B, ...]: uint8 and int32 as they are, uint16 as int32.
at::Tensor targetTensor(const LabelView& view, const std::vector<int64_t>& shape) {
  std::vector<int64_t> dims{shape[0]};
  dims.insert(dims.end(), shape.begin() + 2, shape.end());
  if (view.length != product(dims)) throw LossArgumentError("target length is not B times the spatial size");
  void* data = const_cast<void*>(view.data);
  if (view.type == LabelType::UInt8) return at::from_blob(data, dims, at::kByte).clone();
  if (view.type == LabelType::Int32) return at::from_blob(data, dims, at::kInt).clone();
  at::Tensor labels = at::empty(dims, at::kInt);
  const auto* source = static_cast<const uint16_t*>(view.data);
  int32_t* out = labels.data_ptr<int32_t>();
  for (int64_t i = 0; i < view.length; ++i) out[i] = source[i];
  return labels;
}

// The objective of the request. Robust-t terms get their θ as one learned tensor
// (Objective::nuParameter, requires grad), so backward returns d value / d θ; the terms of one
// objective must then share one nuParameter.
torch_ops::Objective objectiveOf(const std::vector<LossTerm>& terms) {
  torch_ops::Objective objective;
  objective.terms = terms;
  std::optional<double> theta;
  for (const LossTerm& term : terms) {
    const auto* robust = std::get_if<RobustTOptions>(&term.options);
    if (!robust) continue;
    if (theta && *theta != robust->nuParameter) {
      throw LossArgumentError("the robust-t terms of one objective share one nuParameter on the torch op");
    }
    theta = robust->nuParameter;
  }
  if (theta) objective.nuParameter = at::scalar_tensor(*theta, at::kDouble).requires_grad_(true);
  return objective;
}

// A request whose single term is a loss with its own entry point (native/core/standalone): its
// options, read from that term (monostate: the request runs on the engine).
struct StandaloneTorchTerm {
  std::variant<std::monostate, BoundaryAwareOptions, ConditionalBoundaryOptions, InverseFormOptions> options;
  std::optional<int64_t> ignoreIndex;
};

StandaloneTorchTerm readStandaloneTerm(Napi::Object request) {
  StandaloneTorchTerm standalone;
  const Napi::Value terms = request.Get("terms");
  if (!terms.IsArray() || terms.As<Napi::Array>().Length() != 1 || !terms.As<Napi::Array>().Get(0u).IsObject()) return standalone;
  const Napi::Object term = terms.As<Napi::Array>().Get(0u).As<Napi::Object>();
  const Napi::Value id = term.Get("id");
  if (!id.IsString()) return standalone;
  const std::string name = id.As<Napi::String>().Utf8Value();
  if (name == "boundary-aware") standalone.options = readResolvedOptions<BoundaryAwareOptions>(term);
  else if (name == "conditional-boundary") standalone.options = readResolvedOptions<ConditionalBoundaryOptions>(term);
  else if (name == "inverseform") standalone.options = readResolvedOptions<InverseFormOptions>(term);
  else return standalone;
  standalone.ignoreIndex = readResolvedIgnoreIndex(term);
  return standalone;
}

// Everything one lossBackward call needs, detached from Node-API (the "baton").
struct TorchLossCall {
  at::Tensor logits;  // [B, C, ...] on the requested device
  at::Tensor target;  // [B, ...] on the requested device
  StandaloneTorchTerm standalone;  // a standalone loss, or monostate: `objective` runs on the engine
  torch_ops::Objective objective;
  at::Tensor features;          // conditional-boundary: [B, D, H, W] on the device, else undefined
  at::Tensor classifierWeight;  // [C, D]
  at::Tensor classifierBias;    // [C] or undefined
  std::vector<float> network;   // inverseform: the network's parameters
  double gradScale = 1.0;  // upstream gradient
  bool wantGrad = false;
  ScalarType dtype = ScalarType::Float32;
};

struct TorchLossResult {
  double value = 0.0;
  at::Tensor grad;  // [B, C, ...] contiguous on the CPU, or undefined
  std::optional<double> gradNuParameter;  // θ.grad() of the robust-t terms (with grad)
  at::Tensor featuresGrad, classifierWeightGrad, classifierBiasGrad;  // conditional-boundary, on the CPU
};

// A CPU tensor owning a copy of a typed array of `count` elements, in `shape`.
at::Tensor copiedTensor(Napi::Value value, const char* name, ScalarType type, const std::vector<int64_t>& shape) {
  const ScalarView view = readScalarArray(value, name);
  if (view.type != type || view.length != product(shape)) throw LossArgumentError(std::string(name) + " does not have the logits' type and the expected length");
  return at::from_blob(view.data, shape, at::TensorOptions().dtype(type == ScalarType::Float64 ? at::kDouble : at::kFloat)).clone();
}

// conditional-boundary's extra inputs: { features, featureChannels, classifierWeight, classifierBias | null }.
void readFeatureInputs(Napi::Value value, const std::vector<int64_t>& shape, ScalarType type, const at::Device& device,
                       TorchLossCall& call) {
  if (!value.IsObject() || shape.size() != 4) throw NativeTypeError("conditional-boundary needs its extra inputs and a 4-D shape");
  const Napi::Object extra = value.As<Napi::Object>();
  const Napi::Value channels = extra.Get("featureChannels");
  if (!channels.IsNumber() || channels.As<Napi::Number>().Int64Value() < 1) throw LossArgumentError("featureChannels must be ≥ 1");
  const int64_t d = channels.As<Napi::Number>().Int64Value();
  call.features = copiedTensor(extra.Get("features"), "features", type, {shape[0], d, shape[2], shape[3]}).to(device);
  call.classifierWeight = copiedTensor(extra.Get("classifierWeight"), "classifierWeight", type, {shape[1], d}).to(device);
  const Napi::Value bias = extra.Get("classifierBias");
  if (!bias.IsNull() && !bias.IsUndefined()) call.classifierBias = copiedTensor(bias, "classifierBias", type, {shape[1]}).to(device);
}

TorchLossCall readTorchLossCall(const Napi::CallbackInfo& info) {
  if (info.Length() < 6) throw NativeTypeError("expected (logits, target, shape, request, device, grad)");
  if (!info[3].IsObject()) throw NativeTypeError("request is not an object");
  if (!info[4].IsString()) throw NativeTypeError("device is not a string");
  if (!info[5].IsBoolean()) throw NativeTypeError("grad is not a boolean");
  const std::vector<int64_t> shape = readShape(info[2]);
  const ScalarView logits = readScalarArray(info[0], "logits");
  const LabelView target = readLabelArray(info[1], "target");
  const Napi::Object requestObject = info[3].As<Napi::Object>();
  const at::Device device(info[4].As<Napi::String>().Utf8Value());

  TorchLossCall call;
  call.standalone = readStandaloneTerm(requestObject);
  if (std::holds_alternative<std::monostate>(call.standalone.options)) {
    const LossRequest request = readLossRequest(requestObject);
    checkLossTerms(request.terms, shape[1]);
    call.objective = objectiveOf(request.terms);
  }
  call.gradScale = readResolvedNumber(requestObject, "gradScale");
  call.logits = logitsTensor(logits, shape).to(device);
  call.target = targetTensor(target, shape).to(device);
  if (std::holds_alternative<ConditionalBoundaryOptions>(call.standalone.options)) {
    readFeatureInputs(info.Length() > 6 ? info[6] : info.Env().Undefined(), shape, logits.type, device, call);
  }
  if (std::holds_alternative<InverseFormOptions>(call.standalone.options)) {
    const Napi::Value extra = info.Length() > 6 ? info[6] : info.Env().Undefined();
    if (!extra.IsObject()) throw NativeTypeError("inverseform needs { network }");
    const ScalarView network = readScalarArray(extra.As<Napi::Object>().Get("network"), "network");
    if (network.type != ScalarType::Float32) throw NativeTypeError("network is not a Float32Array");
    const float* first = static_cast<const float*>(network.data);
    call.network.assign(first, first + network.length);
  }
  call.wantGrad = info[5].As<Napi::Boolean>().Value();
  call.dtype = logits.type;
  return call;
}

// Forward through the autograd op and, when asked, backward with the upstream gradient.
TorchLossResult runTorchLossCall(const TorchLossCall& call) {
  const at::Tensor logits = call.logits.detach().requires_grad_(call.wantGrad);
  const auto leaf = [&](const at::Tensor& t) { return t.defined() ? t.detach().requires_grad_(call.wantGrad) : t; };
  const at::Tensor features = leaf(call.features), weight = leaf(call.classifierWeight), bias = leaf(call.classifierBias);
  at::Tensor value;
  if (const auto* options = std::get_if<BoundaryAwareOptions>(&call.standalone.options)) {
    value = torch_ops::boundaryAwareLoss(logits, call.target, *options, call.standalone.ignoreIndex);
  } else if (const auto* inverse = std::get_if<InverseFormOptions>(&call.standalone.options)) {
    value = torch_ops::inverseFormLoss(logits, call.target, call.network, *inverse, call.standalone.ignoreIndex);
  } else if (const auto* cbl = std::get_if<ConditionalBoundaryOptions>(&call.standalone.options)) {
    value = torch_ops::conditionalBoundaryLoss(logits, call.target, features, weight, bias, *cbl, call.standalone.ignoreIndex);
  } else {
    value = torch_ops::loss(logits, call.target, call.objective);
  }
  TorchLossResult result;
  result.value = value.item<double>();
  if (call.wantGrad) {
    value.backward(at::scalar_tensor(call.gradScale, value.options()));
    result.grad = logits.grad().to(at::kCPU).contiguous();
    const at::Tensor& theta = call.objective.nuParameter;
    if (theta.defined()) result.gradNuParameter = theta.grad().defined() ? theta.grad().item<double>() : 0.0;
    const auto hostGrad = [](const at::Tensor& t) { return t.defined() ? t.grad().to(at::kCPU).contiguous() : t; };
    result.featuresGrad = hostGrad(features);
    result.classifierWeightGrad = hostGrad(weight);
    if (bias.defined()) result.classifierBiasGrad = hostGrad(bias);
    else if (features.defined()) result.classifierBiasGrad = at::zeros({call.logits.size(1)}, result.featuresGrad.options());
  }
  return result;
}

// A new Float32Array / Float64Array (the dtype's) holding a contiguous CPU tensor, or null.
Napi::Value typedArrayOf(Napi::Env env, const at::Tensor& tensor, ScalarType dtype) {
  if (!tensor.defined()) return env.Null();
  const size_t length = static_cast<size_t>(tensor.numel());
  if (dtype == ScalarType::Float64) {
    Napi::Float64Array array = Napi::Float64Array::New(env, length);
    std::memcpy(array.Data(), tensor.data_ptr<double>(), length * sizeof(double));
    return array;
  }
  Napi::Float32Array array = Napi::Float32Array::New(env, length);
  std::memcpy(array.Data(), tensor.data_ptr<float>(), length * sizeof(float));
  return array;
}

Napi::Value resultObject(Napi::Env env, const TorchLossResult& result, ScalarType dtype) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("value", result.value);
  if (result.gradNuParameter) object.Set("gradNuParameter", *result.gradNuParameter);
  object.Set("grad", typedArrayOf(env, result.grad, dtype));
  if (result.featuresGrad.defined()) {
    object.Set("featuresGrad", typedArrayOf(env, result.featuresGrad, dtype));
    object.Set("classifierWeightGrad", typedArrayOf(env, result.classifierWeightGrad, dtype));
    object.Set("classifierBiasGrad", typedArrayOf(env, result.classifierBiasGrad, dtype));
  }
  return object;
}

Napi::Value LossBackward(const Napi::CallbackInfo& info) {
  return guardTorch(info.Env(), [&]() -> Napi::Value {
    const TorchLossCall call = readTorchLossCall(info);
    return resultObject(info.Env(), runTorchLossCall(call), call.dtype);
  });
}

// lossBackward on a libuv worker thread. The tensors are copies, so Execute() touches no JS memory.
class TorchLossWorker : public Napi::AsyncWorker {
 public:
  TorchLossWorker(Napi::Env env, TorchLossCall call)
      : Napi::AsyncWorker(env, "segloss:lossBackward"), call_(std::move(call)), deferred_(env) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      try {
        result_ = runTorchLossCall(call_);
      } catch (const c10::Error& e) {
        throw std::runtime_error(std::string("libtorch: ") + e.what_without_backtrace());
      }
    } catch (...) {
      failure_ = captureFailure(std::current_exception());
    }
  }
  void OnOK() override {
    if (failure_) {
      deferred_.Reject(toJsError(Env(), *failure_).Value());
      return;
    }
    try {
      deferred_.Resolve(resultObject(Env(), result_, call_.dtype));
    } catch (const Napi::Error& error) {
      deferred_.Reject(error.Value());
    }
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  TorchLossCall call_;
  Napi::Promise::Deferred deferred_;
  TorchLossResult result_;
  std::optional<NativeFailure> failure_;
};

Napi::Value LossBackwardAsync(const Napi::CallbackInfo& info) {
  return guardTorch(info.Env(), [&]() -> Napi::Value {
    auto* worker = new TorchLossWorker(info.Env(), readTorchLossCall(info));
    const Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  });
}

torch_ops::DiceCeBenchOptions readBenchOptions(Napi::Value value) {
  if (!value.IsObject()) throw NativeTypeError("bench options is not an object");
  const Napi::Object object = value.As<Napi::Object>();
  torch_ops::DiceCeBenchOptions options;
  options.shape = readShape(object.Get("shape"));
  const auto integer = [&](const char* name, int fallback) {
    const Napi::Value v = object.Get(name);
    return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
  };
  options.iterations = integer("iterations", options.iterations);
  options.warmup = integer("warmup", options.warmup);
  options.threads = integer("threads", 0);
  options.seed = static_cast<uint64_t>(integer("seed", 0));
  const Napi::Value dtype = object.Get("dtype");
  if (dtype.IsString() && dtype.As<Napi::String>().Utf8Value() == "float64") options.dtype = at::kDouble;
  const Napi::Value device = object.Get("device");
  if (device.IsString()) options.device = device.As<Napi::String>().Utf8Value();
  return options;
}

Napi::Value BenchDiceCe(const Napi::CallbackInfo& info) {
  return guardTorch(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const torch_ops::DiceCeBenchResult bench = torch_ops::benchDiceCe(readBenchOptions(info[0]));
    Napi::Object result = Napi::Object::New(env);
    result.Set("fusedMs", numberArray(env, bench.fusedMs));
    result.Set("atenMs", numberArray(env, bench.atenMs));
    result.Set("fusedValue", bench.fusedValue);
    result.Set("atenValue", bench.atenValue);
    result.Set("maxGradDiff", bench.maxGradDiff);
    result.Set("threads", bench.threads);
    return result;
  });
}

// benchObjective(options, request): per-run ms of the fused op on `request`'s objective (a resolved
// loss request, as lossBackward takes).
Napi::Value BenchObjective(const Napi::CallbackInfo& info) {
  return guardTorch(info.Env(), [&]() -> Napi::Value {
    if (info.Length() < 2 || !info[1].IsObject()) throw NativeTypeError("expected (options, request)");
    const LossRequest request = readLossRequest(info[1].As<Napi::Object>());
    const torch_ops::DiceCeBenchOptions options = readBenchOptions(info[0]);
    checkLossTerms(request.terms, options.shape.size() > 1 ? options.shape[1] : 1);
    return numberArray(info.Env(), torch_ops::benchObjective(options, objectiveOf(request.terms)));
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  try {
    torch_ops::checkLoadedLibtorch();
  } catch (const std::exception& e) {
    Napi::Error error = Napi::Error::New(env, e.what());
    error.Set("code", Napi::String::New(env, "SEGLOSS_LIBTORCH_MISMATCH"));
    throw error;
  }
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("lossBackward", Napi::Function::New(env, LossBackward, "lossBackward"));
  exports.Set("lossBackwardAsync", Napi::Function::New(env, LossBackwardAsync, "lossBackwardAsync"));
  exports.Set("benchDiceCe", Napi::Function::New(env, BenchDiceCe, "benchDiceCe"));
  exports.Set("benchObjective", Napi::Function::New(env, BenchObjective, "benchObjective"));
  registerTorchGeometry(env, exports);
  registerTrainer(env, exports);
  return exports;
}

}  // namespace
}  // namespace segloss::addon

static Napi::Object InitTorchAddon(Napi::Env env, Napi::Object exports) { return segloss::addon::Init(env, exports); }

NODE_API_MODULE(segloss_torch, InitTorchAddon)
