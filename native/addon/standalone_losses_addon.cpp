// The standalone losses' bindings (standalone_losses_addon.h). Thin: TypeScript (src/standalone-losses.ts)
// has validated every argument and resolved the options into one resolved term.
//
// JavaScript signatures (src/native/core.ts holds the matching TypeScript interface):
//   computeBoundaryAware(logits, target, shape, term, gradScale, grad) → number
//   computeBoundaryAwareAsync(...same) → Promise<number>   (inputs copied at the call, grad staged)
//     logits: Float32Array | Float64Array            // [B, C·K, ...spatial]
//     target: Uint8Array | Uint16Array | Int32Array  // [B, ...spatial]
//     shape:  [B, C·K, H, W] or [B, C·K, D, H, W]
//     term:   { id: 'boundary-aware', bins, radius, ignoreIndex, ... }
//     grad:   null, or an array of the logits' type and length (written)
//   decodeBoundaryAware(logits, shape, term) → Int32Array [B, ...spatial]
//   computeConditionalBoundary(logits, target, shape, term, gradScale, grad, extra) → number
//   computeConditionalBoundaryAsync(...same) → Promise<number>
//   computeInverseForm(logits, target, shape, term, gradScale, grad, network) → number
//   computeInverseFormAsync(...same) → Promise<number>
//     logits [B, C + 1, H, W]; network: Float32Array [InverseFormNet::kParameterCount]
//   trainInverseForm(masks, [count, H, W], options, onProgress) → Promise<Float32Array>
//     masks: Uint8Array (non-zero = inside); options { steps, batch, learningRate, seed, maxShift,
//     maxScale, maxRotation, evaluationSamples }; onProgress(step, loss) on the main thread; the
//     promise resolves to the parameters, with .meanError / .meanTarget of the held-out check
//   inverseFormParameterCount() → number
//     shape: [B, C, H, W]; extra: { features [B, D, H, W], featureChannels D, classifierWeight [C, D],
//       classifierBias [C] | null, featuresGrad | null, classifierWeightGrad | null,
//       classifierBiasGrad | null } — every array of the logits' type; the grads are written
#include "standalone_losses_addon.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "../core/standalone/boundary_aware.h"
#include "../core/standalone/conditional_boundary.h"
#include "../core/standalone/inverse_form.h"
#include "../core/standalone/inverse_form_net.h"
#include "../core/standalone/inverse_form_training.h"
#include "errors.h"
#include "loss_request.h"
#include "staged_output.h"
#include "typed_arrays.h"

namespace segloss::addon {
namespace {

std::vector<int64_t> readShape(Napi::Value value) {
  if (!value.IsArray()) throw NativeTypeError("shape is not an array");
  const Napi::Array array = value.As<Napi::Array>();
  if (array.Length() != 4 && array.Length() != 5) throw LossArgumentError("shape must have 4 or 5 entries");
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const Napi::Value dim = array.Get(i);
    if (!dim.IsNumber()) throw NativeTypeError("shape holds a non-number");
    const int64_t d = dim.As<Napi::Number>().Int64Value();
    if (d < 1) throw LossArgumentError("shape holds a dimension below 1");
    shape.push_back(d);
  }
  return shape;
}

// The spatial grid of a [B, C, ...spatial] shape (unit spacing).
geometry::GridShape gridOf(const std::vector<int64_t>& shape) {
  geometry::GridShape grid;
  grid.spatialDims = static_cast<int>(shape.size()) - 2;
  grid.depth = shape.size() == 5 ? shape[2] : 1;
  grid.height = shape[shape.size() - 2];
  grid.width = shape[shape.size() - 1];
  return grid;
}

size_t scalarBytes(const LossTensors& t) {
  return size_t(t.batch * t.channels * t.pixels) * (t.dtype == ScalarType::Float64 ? 8 : 4);
}
size_t labelBytes(const LossTensors& t) {
  const size_t size = t.labelType == LabelType::UInt8 ? 1 : t.labelType == LabelType::UInt16 ? 2 : 4;
  return size_t(t.batch * t.pixels) * size;
}

struct BoundaryAwareCall {
  BinnedLossInput input;
  BoundaryAwareOptions options;
  double gradScale = 1.0;
  void* grad = nullptr;  // [B, C·K, N] or null
};

BoundaryAwareCall readBoundaryAwareCall(const Napi::CallbackInfo& info) {
  if (info.Length() < 6 || !info[3].IsObject()) throw NativeTypeError("expected (logits, target, shape, term, gradScale, grad)");
  const std::vector<int64_t> shape = readShape(info[2]);
  const ScalarView logits = readScalarArray(info[0], "logits");
  const LabelView target = readLabelArray(info[1], "target");
  BoundaryAwareCall call;
  call.input.grid = gridOf(shape);
  call.input.tensors = makeLossTensors(logits, target, shape[0], shape[1], call.input.grid.voxels());
  const Napi::Object term = info[3].As<Napi::Object>();
  call.options = readResolvedOptions<BoundaryAwareOptions>(term);
  const std::optional<int64_t> ignore = readResolvedIgnoreIndex(term);
  call.input.tensors.hasIgnore = ignore.has_value();
  call.input.tensors.ignoreIndex = ignore.value_or(-100);
  if (!info[4].IsNumber()) throw NativeTypeError("gradScale is not a number");
  call.gradScale = info[4].As<Napi::Number>().DoubleValue();
  if (!info[5].IsNull() && !info[5].IsUndefined()) {
    const ScalarView grad = readScalarArray(info[5], "grad");
    if (grad.type != logits.type || grad.length != logits.length) throw LossArgumentError("grad does not have the logits' type and length");
    call.grad = grad.data;
  }
  return call;
}

double runBoundaryAware(const BoundaryAwareCall& call) {
  const LossGradient grad{call.grad, call.gradScale, false};
  return boundaryAwareLossCpu(call.input, call.options, call.grad ? &grad : nullptr);
}

// A standalone-loss call on a libuv worker thread: the inputs are copied when it starts, outputs are
// staged (staged_output.h) and committed on the main thread; Execute() touches no Node-API.
class StandaloneLossWorker : public Napi::AsyncWorker {
 public:
  explicit StandaloneLossWorker(Napi::Env env) : Napi::AsyncWorker(env, "segloss:standaloneLoss"), deferred_(env) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  // Call before stage(): the staged outputs' data() pointers must not move.
  void reserveOutputs(size_t count) { outputs_.reserve(count); }

  // A copy of [data, data + bytes) the worker owns.
  const void* own(const void* data, size_t bytes) {
    const auto* first = static_cast<const uint8_t*>(data);
    copies_.emplace_back(first, first + bytes);
    return copies_.back().data();
  }
  // The worker's buffer for an output array (null when the value is null or undefined).
  void* stage(Napi::Value array, const char* name) {
    if (array.IsNull() || array.IsUndefined()) return nullptr;
    outputs_.emplace_back(array, name);
    return outputs_.back().data();
  }
  void setRun(std::function<double()> run) { run_ = std::move(run); }

 protected:
  void Execute() override {
    try {
      value_ = run_();
    } catch (...) {
      failure_ = captureFailure(std::current_exception());
    }
  }
  void OnOK() override {
    if (!failure_) {
      try {
        for (StagedOutput& output : outputs_) output.commit();
      } catch (...) {
        failure_ = captureFailure(std::current_exception());
      }
    }
    if (failure_) deferred_.Reject(toJsError(Env(), *failure_).Value());
    else deferred_.Resolve(Napi::Number::New(Env(), value_));
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<std::vector<uint8_t>> copies_;  // inner buffers keep their address when the list grows
  std::vector<StagedOutput> outputs_;         // reserved up front (reserveOutputs)
  std::function<double()> run_;
  double value_ = 0.0;
  std::optional<NativeFailure> failure_;
};

// The synchronous entry point of a standalone loss: read the call, run it here, return the value.
template <class Read, class Run>
Napi::Value syncEntry(const Napi::CallbackInfo& info, Read read, Run run) {
  return guardNative(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), run(read(info))); });
}

// The asynchronous one: read the call, let `move(call, info, worker)` point it at the worker's
// copies of its inputs and staged outputs (at most `outputs`), then run it on a libuv thread.
template <class Read, class Move, class Run>
Napi::Value asyncEntry(const Napi::CallbackInfo& info, size_t outputs, Read read, Move move, Run run) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    auto call = read(info);
    auto worker = std::make_unique<StandaloneLossWorker>(info.Env());
    worker->reserveOutputs(outputs);
    move(call, info, *worker);
    worker->setRun([call, run]() { return run(call); });
    const Napi::Promise promise = worker->Promise();
    worker.release()->Queue();  // the AsyncWorker deletes itself when done
    return promise;
  });
}

// The logits and labels of a call, copied into the worker.
void ownTensors(LossTensors& t, StandaloneLossWorker& worker) {
  t.logits = worker.own(t.logits, scalarBytes(t));
  t.target = worker.own(t.target, labelBytes(t));
}

void moveBoundaryAware(BoundaryAwareCall& call, const Napi::CallbackInfo& info, StandaloneLossWorker& worker) {
  ownTensors(call.input.tensors, worker);
  if (call.grad) call.grad = worker.stage(info[5], "grad");
}

Napi::Value ComputeBoundaryAware(const Napi::CallbackInfo& info) {
  return syncEntry(info, readBoundaryAwareCall, runBoundaryAware);
}

Napi::Value ComputeBoundaryAwareAsync(const Napi::CallbackInfo& info) {
  return asyncEntry(info, 1, readBoundaryAwareCall, moveBoundaryAware, runBoundaryAware);
}

Napi::Value DecodeBoundaryAware(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    if (info.Length() < 3 || !info[2].IsObject()) throw NativeTypeError("expected (logits, shape, term)");
    const std::vector<int64_t> shape = readShape(info[1]);
    const ScalarView logits = readScalarArray(info[0], "logits");
    const geometry::GridShape grid = gridOf(shape);
    LossTensors t;
    t.logits = logits.data;
    t.dtype = logits.type;
    t.batch = shape[0];
    t.channels = shape[1];
    t.pixels = grid.voxels();
    if (logits.length != t.batch * t.channels * t.pixels) throw LossArgumentError("logits length is not the product of shape");
    const BoundaryAwareOptions options = readResolvedOptions<BoundaryAwareOptions>(info[2].As<Napi::Object>());
    Napi::Int32Array labels = Napi::Int32Array::New(info.Env(), size_t(t.batch * t.pixels));
    decodeBoundaryAwareCpu(t, grid, options, labels.Data());
    return labels;
  });
}

struct ConditionalBoundaryCall {
  ConditionalBoundaryInput input;
  ConditionalBoundaryOptions options;
  ConditionalBoundaryGrads grads;
  bool anyGrad = false;
};

// A Float32Array / Float64Array of the logits' type and exact length, or null when absent.
void* readExtraArray(Napi::Object extra, const char* name, ScalarType type, int64_t length, bool optional) {
  const Napi::Value value = extra.Get(name);
  if (optional && (value.IsNull() || value.IsUndefined())) return nullptr;
  const ScalarView view = readScalarArray(value, name);
  if (view.type != type || view.length != length) throw LossArgumentError(std::string(name) + " does not have the logits' type and the expected length");
  return view.data;
}

ConditionalBoundaryCall readConditionalBoundaryCall(const Napi::CallbackInfo& info) {
  if (info.Length() < 7 || !info[3].IsObject() || !info[6].IsObject()) {
    throw NativeTypeError("expected (logits, target, shape, term, gradScale, grad, extra)");
  }
  const std::vector<int64_t> shape = readShape(info[2]);
  if (shape.size() != 4) throw LossArgumentError("conditional-boundary takes [B, C, H, W] logits");
  const ScalarView logits = readScalarArray(info[0], "logits");
  const LabelView target = readLabelArray(info[1], "target");
  ConditionalBoundaryCall call;
  ConditionalBoundaryInput& in = call.input;
  in.height = shape[2];
  in.width = shape[3];
  in.tensors = makeLossTensors(logits, target, shape[0], shape[1], in.height * in.width);
  const Napi::Object term = info[3].As<Napi::Object>();
  call.options = readResolvedOptions<ConditionalBoundaryOptions>(term);
  const std::optional<int64_t> ignore = readResolvedIgnoreIndex(term);
  in.tensors.hasIgnore = ignore.has_value();
  in.tensors.ignoreIndex = ignore.value_or(-100);
  if (!info[4].IsNumber()) throw NativeTypeError("gradScale is not a number");
  call.grads.scale = info[4].As<Napi::Number>().DoubleValue();
  const Napi::Object extra = info[6].As<Napi::Object>();
  const Napi::Value channels = extra.Get("featureChannels");
  if (!channels.IsNumber() || channels.As<Napi::Number>().Int64Value() < 1) throw LossArgumentError("featureChannels must be ≥ 1");
  in.featureChannels = channels.As<Napi::Number>().Int64Value();
  const int64_t classes = shape[1], d = in.featureChannels, pixels = in.height * in.width;
  in.features = readExtraArray(extra, "features", logits.type, shape[0] * d * pixels, false);
  in.classifierWeight = readExtraArray(extra, "classifierWeight", logits.type, classes * d, false);
  in.classifierBias = readExtraArray(extra, "classifierBias", logits.type, classes, true);
  if (!info[5].IsNull() && !info[5].IsUndefined()) {
    const ScalarView grad = readScalarArray(info[5], "grad");
    if (grad.type != logits.type || grad.length != logits.length) throw LossArgumentError("grad does not have the logits' type and length");
    call.grads.logits = grad.data;
  }
  call.grads.features = readExtraArray(extra, "featuresGrad", logits.type, shape[0] * d * pixels, true);
  call.grads.classifierWeight = readExtraArray(extra, "classifierWeightGrad", logits.type, classes * d, true);
  call.grads.classifierBias = readExtraArray(extra, "classifierBiasGrad", logits.type, classes, true);
  call.anyGrad = call.grads.logits || call.grads.features || call.grads.classifierWeight || call.grads.classifierBias;
  return call;
}

double runConditionalBoundary(const ConditionalBoundaryCall& call) {
  return conditionalBoundaryLossCpu(call.input, call.options, call.anyGrad ? &call.grads : nullptr);
}

void moveConditionalBoundary(ConditionalBoundaryCall& call, const Napi::CallbackInfo& info, StandaloneLossWorker& worker) {
  ConditionalBoundaryInput& in = call.input;
  LossTensors& t = in.tensors;
  const size_t element = t.dtype == ScalarType::Float64 ? 8 : 4;
  ownTensors(t, worker);
  in.features = worker.own(in.features, size_t(t.batch * in.featureChannels * t.pixels) * element);
  in.classifierWeight = worker.own(in.classifierWeight, size_t(t.channels * in.featureChannels) * element);
  if (in.classifierBias) in.classifierBias = worker.own(in.classifierBias, size_t(t.channels) * element);
  const Napi::Object extra = info[6].As<Napi::Object>();
  if (call.grads.logits) call.grads.logits = worker.stage(info[5], "grad");
  if (call.grads.features) call.grads.features = worker.stage(extra.Get("featuresGrad"), "featuresGrad");
  if (call.grads.classifierWeight) call.grads.classifierWeight = worker.stage(extra.Get("classifierWeightGrad"), "classifierWeightGrad");
  if (call.grads.classifierBias) call.grads.classifierBias = worker.stage(extra.Get("classifierBiasGrad"), "classifierBiasGrad");
}

Napi::Value ComputeConditionalBoundary(const Napi::CallbackInfo& info) {
  return syncEntry(info, readConditionalBoundaryCall, runConditionalBoundary);
}

Napi::Value ComputeConditionalBoundaryAsync(const Napi::CallbackInfo& info) {
  return asyncEntry(info, 4, readConditionalBoundaryCall, moveConditionalBoundary, runConditionalBoundary);
}

struct InverseFormCall {
  InverseFormInput input;
  InverseFormOptions options;
  double gradScale = 1.0;
  void* grad = nullptr;
};

InverseFormCall readInverseFormCall(const Napi::CallbackInfo& info) {
  if (info.Length() < 7 || !info[3].IsObject()) throw NativeTypeError("expected (logits, target, shape, term, gradScale, grad, network)");
  const std::vector<int64_t> shape = readShape(info[2]);
  if (shape.size() != 4) throw LossArgumentError("inverseform takes [B, C + 1, H, W] logits");
  const ScalarView logits = readScalarArray(info[0], "logits");
  const LabelView target = readLabelArray(info[1], "target");
  InverseFormCall call;
  call.input.height = shape[2];
  call.input.width = shape[3];
  call.input.tensors = makeLossTensors(logits, target, shape[0], shape[1], shape[2] * shape[3]);
  const Napi::Object term = info[3].As<Napi::Object>();
  call.options = readResolvedOptions<InverseFormOptions>(term);
  const std::optional<int64_t> ignore = readResolvedIgnoreIndex(term);
  call.input.tensors.hasIgnore = ignore.has_value();
  call.input.tensors.ignoreIndex = ignore.value_or(-100);
  if (!info[4].IsNumber()) throw NativeTypeError("gradScale is not a number");
  call.gradScale = info[4].As<Napi::Number>().DoubleValue();
  if (!info[5].IsNull() && !info[5].IsUndefined()) {
    const ScalarView grad = readScalarArray(info[5], "grad");
    if (grad.type != logits.type || grad.length != logits.length) throw LossArgumentError("grad does not have the logits' type and length");
    call.grad = grad.data;
  }
  const ScalarView network = readScalarArray(info[6], "network");
  if (network.type != ScalarType::Float32 || network.length != int64_t(InverseFormNet::kParameterCount)) {
    throw LossArgumentError("network is not a Float32Array of the network's parameter count");
  }
  call.input.network = static_cast<const float*>(network.data);
  return call;
}

double runInverseForm(const InverseFormCall& call) {
  const LossGradient grad{call.grad, call.gradScale, false};
  return inverseFormLossCpu(call.input, call.options, call.grad ? &grad : nullptr);
}

void moveInverseForm(InverseFormCall& call, const Napi::CallbackInfo& info, StandaloneLossWorker& worker) {
  ownTensors(call.input.tensors, worker);
  call.input.network = static_cast<const float*>(worker.own(call.input.network, InverseFormNet::kParameterCount * sizeof(float)));
  if (call.grad) call.grad = worker.stage(info[5], "grad");
}

Napi::Value ComputeInverseForm(const Napi::CallbackInfo& info) {
  return syncEntry(info, readInverseFormCall, runInverseForm);
}

Napi::Value ComputeInverseFormAsync(const Napi::CallbackInfo& info) {
  return asyncEntry(info, 1, readInverseFormCall, moveInverseForm, runInverseForm);
}

// The network's training on a libuv worker thread, reporting (step, loss) to the main thread.
// Training runs for a minute or so; it is meant for `segloss train-inverseform`.
class InverseFormTrainingWorker : public Napi::AsyncProgressQueueWorker<std::pair<int, double>> {
 public:
  InverseFormTrainingWorker(Napi::Env env, std::vector<uint8_t> masks, InverseFormMasks dims, InverseFormTrainingOptions options,
                            int evaluationSamples, Napi::Function onProgress)
      : Napi::AsyncProgressQueueWorker<std::pair<int, double>>(env, "segloss:trainInverseForm"), deferred_(env),
        masks_(std::move(masks)), dims_(dims), options_(options), evaluationSamples_(evaluationSamples) {
    if (!onProgress.IsEmpty()) onProgress_ = Napi::Persistent(onProgress);
    dims_.data = masks_.data();
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      params_ = trainInverseFormNet(dims_, options_, [&](int step, double loss) {
        const std::pair<int, double> report{step, loss};
        progress.Send(&report, 1);
        return true;
      });
      evaluation_ = evaluateInverseFormNet(params_, dims_, options_, evaluationSamples_);
    } catch (...) {
      failure_ = captureFailure(std::current_exception());
    }
  }
  void OnProgress(const std::pair<int, double>* data, size_t count) override {
    if (onProgress_.IsEmpty()) return;
    Napi::HandleScope scope(Env());
    for (size_t i = 0; i < count; ++i) onProgress_.Call({Napi::Number::New(Env(), data[i].first), Napi::Number::New(Env(), data[i].second)});
  }
  void OnOK() override {
    if (failure_) {
      deferred_.Reject(toJsError(Env(), *failure_).Value());
      return;
    }
    Napi::Float32Array out = Napi::Float32Array::New(Env(), params_.size());
    std::copy(params_.begin(), params_.end(), out.Data());
    out.Set("meanError", evaluation_.meanError);
    out.Set("meanTarget", evaluation_.meanTarget);
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> masks_;
  InverseFormMasks dims_;
  InverseFormTrainingOptions options_;
  int evaluationSamples_;
  Napi::FunctionReference onProgress_;
  std::vector<float> params_;
  InverseFormEvaluation evaluation_;
  std::optional<NativeFailure> failure_;
};

double numberField(Napi::Object object, const char* name, double fallback) {
  const Napi::Value v = object.Get(name);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

Napi::Value TrainInverseForm(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
    if (info.Length() < 3 || !info[1].IsArray() || !info[2].IsObject()) throw NativeTypeError("expected (masks, dims, options, onProgress?)");
    const LabelView masks = readLabelArray(info[0], "masks");
    if (masks.type != LabelType::UInt8) throw NativeTypeError("masks is not a Uint8Array");
    const Napi::Array dimsArray = info[1].As<Napi::Array>();
    if (dimsArray.Length() != 3) throw LossArgumentError("dims must be [count, H, W]");
    InverseFormMasks dims;
    dims.count = dimsArray.Get(0u).As<Napi::Number>().Int64Value();
    dims.height = dimsArray.Get(1u).As<Napi::Number>().Int64Value();
    dims.width = dimsArray.Get(2u).As<Napi::Number>().Int64Value();
    if (dims.count < 1 || dims.height < 1 || dims.width < 1 || masks.length != dims.count * dims.height * dims.width) {
      throw LossArgumentError("masks length is not count · H · W");
    }
    const Napi::Object o = info[2].As<Napi::Object>();
    InverseFormTrainingOptions options;
    options.steps = static_cast<int>(numberField(o, "steps", options.steps));
    options.batch = static_cast<int>(numberField(o, "batch", options.batch));
    options.learningRate = numberField(o, "learningRate", options.learningRate);
    options.seed = static_cast<uint64_t>(numberField(o, "seed", double(options.seed)));
    options.maxShift = numberField(o, "maxShift", options.maxShift);
    options.maxScale = numberField(o, "maxScale", options.maxScale);
    options.maxRotation = numberField(o, "maxRotation", options.maxRotation);
    const int samples = static_cast<int>(numberField(o, "evaluationSamples", 1000));
    const auto* bytes = static_cast<const uint8_t*>(masks.data);
    Napi::Function onProgress = info.Length() > 3 && info[3].IsFunction() ? info[3].As<Napi::Function>() : Napi::Function();
    auto* worker = new InverseFormTrainingWorker(info.Env(), std::vector<uint8_t>(bytes, bytes + masks.length), dims, options,
                                                 samples, onProgress);
    const Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  });
}

}  // namespace

void registerStandaloneLosses(Napi::Env env, Napi::Object exports) {
  exports.Set("computeBoundaryAware", Napi::Function::New(env, ComputeBoundaryAware, "computeBoundaryAware"));
  exports.Set("computeBoundaryAwareAsync", Napi::Function::New(env, ComputeBoundaryAwareAsync, "computeBoundaryAwareAsync"));
  exports.Set("decodeBoundaryAware", Napi::Function::New(env, DecodeBoundaryAware, "decodeBoundaryAware"));
  exports.Set("computeConditionalBoundary", Napi::Function::New(env, ComputeConditionalBoundary, "computeConditionalBoundary"));
  exports.Set("computeConditionalBoundaryAsync",
              Napi::Function::New(env, ComputeConditionalBoundaryAsync, "computeConditionalBoundaryAsync"));
  exports.Set("computeInverseForm", Napi::Function::New(env, ComputeInverseForm, "computeInverseForm"));
  exports.Set("computeInverseFormAsync", Napi::Function::New(env, ComputeInverseFormAsync, "computeInverseFormAsync"));
  exports.Set("trainInverseForm", Napi::Function::New(env, TrainInverseForm, "trainInverseForm"));
  exports.Set("inverseFormParameterCount", Napi::Number::New(env, double(InverseFormNet::kParameterCount)));
}

}  // namespace segloss::addon
