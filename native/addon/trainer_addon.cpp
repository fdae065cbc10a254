// The trainer's bindings: class NativeTrainer (registered by registerTrainer, called from the torch
// addon's init). Thin by design: src/trainer/*.ts validates every argument and resolves the
// config; this file converts it, runs each job on the trainer's own std::thread and reports
// through one thread-safe function per job, whose queue is unbounded so no event is dropped or
// coalesced and all arrive in order (NATIVE-NOTES.md: no long AsyncWorkers).
//
// JavaScript interface (src/trainer/native.ts holds the matching TypeScript):
//   new NativeTrainer()
//   create(config) → Promise<{ parameterCount }>          config: the resolved config (trainer/native.ts)
//   open(path) → Promise<{ config }>                       reads a checkpoint, keeps it for restore()
//   restore() → Promise<{ epoch, step }>                   restores the opened checkpoint
//   fit(train, validation | null, options, onEvent) → Promise<{ epoch, step, loss, aborted }>
//   evaluate(data, batchSize, hd95) → Promise<Evaluation (+ hd95, perClassHd95 when asked for)>
//   predict(images, shape, batchSize, logits) → Promise<Uint8Array | Uint16Array>  [N, H, W] classes,
//                                               or with logits Promise<Float32Array> [N, K, H, W]
//   save(path) → Promise<void>;  loadWeights(path) → Promise<void>;  loadViTWeights(npzPath) → Promise<void>
//   abort()      stop the running fit at its next step boundary
//   stop()       abort and wait for the trainer's thread (synchronous; for process 'exit')
//   dispose()    abort, and free the model once no job runs
//     data: { images: Float32Array [N, Cin, H, W], masks: Uint8Array | Uint16Array | Int32Array [N, H, W], shape,
//             cases?: number[] (images per case, Σ = N; evaluation and validation only) }
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/Dict.h>
#include <ATen/core/List.h>
#include <c10/util/Exception.h>

#include "../core/parallel_cpu.h"
#include "../torch/trainer/checkpoint.h"
#include "../torch/trainer/cpu_block_cache.h"
#include "../torch/trainer/trainer.h"
#include "errors.h"
#include "loss_request.h"
#include "trainer_addon.h"
#include "typed_arrays.h"

namespace segloss::addon {
namespace {

using trainer::Dataset;
using trainer::Evaluation;
using trainer::Trainer;
using trainer::TrainerEvent;

// ---- reading the resolved values -----------------------------------------------------------

Napi::Value required(Napi::Object object, const char* name) {
  if (!object.Has(name)) throw NativeTypeError(std::string("resolved trainer value lacks '") + name + "'");
  return object.Get(name);
}

double number(Napi::Object object, const char* name) {
  const Napi::Value value = required(object, name);
  if (!value.IsNumber()) throw NativeTypeError(std::string("'") + name + "' is not a number");
  const double x = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(x)) throw std::invalid_argument(std::string("'") + name + "' is not finite");
  return x;
}

int64_t integer(Napi::Object object, const char* name, int64_t min) {
  const double x = number(object, name);
  if (std::trunc(x) != x || x < static_cast<double>(min) || x > 9007199254740991.0) {
    throw std::invalid_argument(std::string("'") + name + "' is not an integer ≥ " + std::to_string(min));
  }
  return static_cast<int64_t>(x);
}

bool boolean(Napi::Object object, const char* name) {
  const Napi::Value value = required(object, name);
  if (!value.IsBoolean()) throw NativeTypeError(std::string("'") + name + "' is not a boolean");
  return value.As<Napi::Boolean>().Value();
}

std::string string(Napi::Object object, const char* name) {
  const Napi::Value value = required(object, name);
  if (!value.IsString()) throw NativeTypeError(std::string("'") + name + "' is not a string");
  return value.As<Napi::String>().Utf8Value();
}

Napi::Object object(Napi::Object parent, const char* name) {
  const Napi::Value value = required(parent, name);
  if (!value.IsObject()) throw NativeTypeError(std::string("'") + name + "' is not an object");
  return value.As<Napi::Object>();
}

models::ModelOptions readModel(Napi::Object model) {
  const std::string name = string(model, "name");
  if (name == "unet") {
    return models::UNetOptions()
        .inChannels(integer(model, "inChannels", 1))
        .numClasses(integer(model, "numClasses", 1))
        .baseChannels(integer(model, "baseChannels", 1))
        .bilinear(boolean(model, "bilinear"));
  }
  if (name == "transunet") {
    return models::TransUNetOptions()
        .inChannels(integer(model, "inChannels", 1))
        .numClasses(integer(model, "numClasses", 1))
        .imageSize(integer(model, "imageSize", 16))
        .hidden(integer(model, "hidden", 1))
        .layers(integer(model, "layers", 0))
        .heads(integer(model, "heads", 1))
        .mlp(integer(model, "mlp", 1))
        .dropout(number(model, "dropout"));
  }
  throw std::invalid_argument("unknown model '" + name + "'");
}

trainer::OptimizerOptions readOptimizer(Napi::Object optimizer) {
  const std::string name = string(optimizer, "name");
  if (name == "sgd") {
    trainer::SgdOptions o;
    o.lr = number(optimizer, "lr");
    o.momentum = number(optimizer, "momentum");
    o.weightDecay = number(optimizer, "weightDecay");
    o.nesterov = boolean(optimizer, "nesterov");
    return o;
  }
  if (name == "adamw") {
    trainer::AdamWOptions o;
    o.lr = number(optimizer, "lr");
    o.beta1 = number(optimizer, "beta1");
    o.beta2 = number(optimizer, "beta2");
    o.eps = number(optimizer, "eps");
    o.weightDecay = number(optimizer, "weightDecay");
    return o;
  }
  throw std::invalid_argument("unknown optimizer '" + name + "'");
}

trainer::ScheduleOptions readSchedule(Napi::Object schedule) {
  trainer::ScheduleOptions o;
  const std::string name = string(schedule, "name");
  if (name != "poly" && name != "constant") throw std::invalid_argument("unknown schedule '" + name + "'");
  o.kind = name == "poly" ? trainer::ScheduleOptions::Kind::Poly : trainer::ScheduleOptions::Kind::Constant;
  o.power = number(schedule, "power");
  o.totalSteps = integer(schedule, "totalSteps", 0);
  return o;
}

// JSON-like JavaScript value → IValue (objects → dict, arrays → list, integral numbers → int).
c10::IValue toIValue(Napi::Value value) {
  if (value.IsNull() || value.IsUndefined()) return c10::IValue();
  if (value.IsBoolean()) return value.As<Napi::Boolean>().Value();
  if (value.IsString()) return value.As<Napi::String>().Utf8Value();
  if (value.IsNumber()) {
    const double x = value.As<Napi::Number>().DoubleValue();
    if (std::isfinite(x) && std::trunc(x) == x && std::fabs(x) <= 9007199254740991.0) return static_cast<int64_t>(x);
    return x;
  }
  if (value.IsArray()) {
    const Napi::Array array = value.As<Napi::Array>();
    c10::impl::GenericList list(c10::AnyType::get());
    for (uint32_t i = 0; i < array.Length(); ++i) list.push_back(toIValue(array.Get(i)));
    return list;
  }
  if (value.IsObject() && !value.IsTypedArray() && !value.IsFunction()) {
    const Napi::Object object = value.As<Napi::Object>();
    const Napi::Array keys = object.GetPropertyNames();
    c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
      dict.insert(key, toIValue(object.Get(key)));
    }
    return dict;
  }
  throw NativeTypeError("the config record holds a value that is not JSON");
}

// IValue of a checkpoint's config → JavaScript (the reverse of toIValue; tensors are not expected).
Napi::Value fromIValue(Napi::Env env, const c10::IValue& value) {
  if (value.isNone()) return env.Null();
  if (value.isBool()) return Napi::Boolean::New(env, value.toBool());
  if (value.isInt()) return Napi::Number::New(env, static_cast<double>(value.toInt()));
  if (value.isDouble()) return Napi::Number::New(env, value.toDouble());
  if (value.isString()) return Napi::String::New(env, value.toStringRef());
  if (value.isList() || value.isTuple()) {
    const std::vector<c10::IValue> items =
        value.isList() ? value.toList().vec() : value.toTupleRef().elements().vec();
    Napi::Array array = Napi::Array::New(env, items.size());
    for (size_t i = 0; i < items.size(); ++i) array.Set(static_cast<uint32_t>(i), fromIValue(env, items[i]));
    return array;
  }
  if (value.isGenericDict()) {
    Napi::Object object = Napi::Object::New(env);
    for (const auto& item : value.toGenericDict()) {
      if (!item.key().isString()) throw std::invalid_argument("the checkpoint's config has a non-string key");
      object.Set(item.key().toStringRef(), fromIValue(env, item.value()));
    }
    return object;
  }
  throw std::invalid_argument("the checkpoint's config holds a " + value.tagKind());
}

// config.standalone: null, or { position, term (a resolved term of a standalone loss), network
// (inverseform: a Float32Array of the network's parameters; else null) }.
std::optional<trainer::StandaloneTerm> readStandaloneTerm(Napi::Value value) {
  if (value.IsNull() || value.IsUndefined()) return std::nullopt;
  if (!value.IsObject()) throw NativeTypeError("'standalone' is not an object or null");
  const Napi::Object standalone = value.As<Napi::Object>();
  const Napi::Object term = object(standalone, "term");
  trainer::StandaloneTerm out;
  out.position = static_cast<size_t>(integer(standalone, "position", 0));
  out.weight = number(term, "weight");
  out.ignoreIndex = readResolvedIgnoreIndex(term);
  const std::string id = string(term, "id");
  if (id == "conditional-boundary") {
    out.options = readResolvedOptions<ConditionalBoundaryOptions>(term);
  } else if (id == "boundary-aware") {
    out.options = readResolvedOptions<BoundaryAwareOptions>(term);
  } else if (id == "inverseform") {
    out.options = readResolvedOptions<InverseFormOptions>(term);
    const ScalarView network = readScalarArray(required(standalone, "network"), "network");
    if (network.type != ScalarType::Float32) throw NativeTypeError("'network' is not a Float32Array");
    const float* data = static_cast<const float*>(network.data);
    out.network.assign(data, data + network.length);
  } else {
    throw std::invalid_argument("'" + id + "' is not a standalone loss");
  }
  return out;
}

trainer::TrainerConfig readConfig(Napi::Object config) {
  trainer::TrainerConfig out;
  out.model = readModel(object(config, "model"));
  const Napi::Object objective = object(config, "objective");
  const Napi::Value terms = required(objective, "terms");
  if (!terms.IsArray()) throw NativeTypeError("'objective.terms' is not an array");
  // empty only beside a standalone term (TrainerObjective::check)
  if (terms.As<Napi::Array>().Length() > 0) out.objective.engine.terms = readLossTerms(objective);
  out.objective.standalone = readStandaloneTerm(required(config, "standalone"));
  out.optimizer = readOptimizer(object(config, "optimizer"));
  out.schedule = readSchedule(object(config, "schedule"));
  out.device = string(config, "device");
  out.seed = static_cast<uint64_t>(integer(config, "seed", 0));
  const std::string precision = string(config, "precision");
  if (precision != "float32" && precision != "bfloat16") throw std::invalid_argument("unknown precision '" + precision + "'");
  out.precision = precision == "bfloat16" ? trainer::Precision::BFloat16 : trainer::Precision::Float32;
  out.channelsLast = boolean(config, "channelsLast");
  out.record = toIValue(required(config, "record"));
  return out;
}

std::vector<int64_t> readShape4(Napi::Value value) {
  if (!value.IsArray() || value.As<Napi::Array>().Length() != 4) throw NativeTypeError("shape is not [N, C, H, W]");
  const Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < 4; ++i) {
    const Napi::Value dim = array.Get(i);
    if (!dim.IsNumber()) throw NativeTypeError("shape holds a non-number");
    const double d = dim.As<Napi::Number>().DoubleValue();
    if (!(d >= 1.0 && d <= 9007199254740991.0) || std::trunc(d) != d) {
      throw std::invalid_argument("shape holds a dimension that is not a positive integer");
    }
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

// The arrays handed over by JavaScript are copied into tensors here, on the main thread, with plain
// loops rather than ATen ops: an ATen copy this large runs an OpenMP parallel region, which makes
// the main thread an OpenMP master whose worker threads then live as long as the process. With
// those counted, libgomp sees more threads than cores and throttles the spinning of every team's
// workers, the trainer's included: a job's workers then sleep and wake between ATen ops (measured:
// TransUNet ti16 trained at 0.70× PyTorch's images/s on 2 cores).
template <typename From, typename To>
void copyConverted(const From* from, int64_t n, To* to) {
  for (int64_t i = 0; i < n; ++i) to[i] = static_cast<To>(from[i]);
}

// A float32 CPU tensor owning a copy of the images [N, C, H, W].
at::Tensor imagesTensor(Napi::Value value, const std::vector<int64_t>& shape) {
  const ScalarView view = readScalarArray(value, "images");
  if (view.length != shape[0] * shape[1] * shape[2] * shape[3]) {
    throw std::invalid_argument("images length is not N·C·H·W");
  }
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(at::kFloat));
  float* to = out.data_ptr<float>();
  if (view.type == ScalarType::Float64) {
    copyConverted(static_cast<const double*>(view.data), view.length, to);
  } else {
    std::memcpy(to, view.data, static_cast<size_t>(view.length) * sizeof(float));
  }
  return out;
}

// An int32 CPU tensor owning a copy of the labels [N, H, W].
at::Tensor masksTensor(Napi::Value value, const std::vector<int64_t>& shape) {
  const LabelView view = readLabelArray(value, "masks");
  const std::vector<int64_t> dims{shape[0], shape[2], shape[3]};
  if (view.length != shape[0] * shape[2] * shape[3]) throw std::invalid_argument("masks length is not N·H·W");
  at::Tensor out = at::empty(dims, at::TensorOptions().dtype(at::kInt));
  int32_t* to = out.data_ptr<int32_t>();
  if (view.type == LabelType::UInt8) copyConverted(static_cast<const uint8_t*>(view.data), view.length, to);
  else if (view.type == LabelType::UInt16) copyConverted(static_cast<const uint16_t*>(view.data), view.length, to);
  else std::memcpy(to, view.data, static_cast<size_t>(view.length) * sizeof(int32_t));
  return out;
}

Dataset readDataset(Napi::Value value) {
  if (!value.IsObject()) throw NativeTypeError("data is not an object");
  const Napi::Object data = value.As<Napi::Object>();
  const std::vector<int64_t> shape = readShape4(required(data, "shape"));
  Dataset out{imagesTensor(required(data, "images"), shape), masksTensor(required(data, "masks"), shape), {}};
  // Optional `cases`: the number of consecutive images in each case (volume), summing to N.
  const Napi::Value cases = data.Get("cases");
  if (cases.IsArray()) {
    const Napi::Array counts = cases.As<Napi::Array>();
    for (uint32_t i = 0; i < counts.Length(); ++i) {
      const Napi::Value count = counts.Get(i);
      if (!count.IsNumber() || count.As<Napi::Number>().Int64Value() < 1) throw std::invalid_argument("cases holds a count < 1");
      out.cases.insert(out.cases.end(), static_cast<size_t>(count.As<Napi::Number>().Int64Value()), static_cast<int64_t>(i));
    }
    if (static_cast<int64_t>(out.cases.size()) != shape[0]) throw std::invalid_argument("cases do not sum to N");
  }
  return out;
}

trainer::FitOptions readFitOptions(Napi::Object options) {
  trainer::FitOptions out;
  out.epochs = integer(options, "epochs", 1);
  out.batchSize = integer(options, "batchSize", 1);
  out.evalBatchSize = integer(options, "evalBatchSize", 1);
  out.evalHd95 = options.Get("evalHd95").ToBoolean().Value();
  const std::string nonFinite = string(options, "nonFinite");
  if (nonFinite != "stop" && nonFinite != "skip") throw std::invalid_argument("nonFinite is not 'stop' or 'skip'");
  out.nonFinite = nonFinite == "skip" ? trainer::NonFinitePolicy::Skip : trainer::NonFinitePolicy::Stop;
  const std::string augment = string(options, "augment");
  if (augment == "none") {
    out.augment = trainer::Augmentation::None;
  } else if (augment == "rot-flip-rotate") {
    out.augment = trainer::Augmentation::RotFlipRotate;
  } else if (augment == "scale-crop-flip") {
    out.augment = trainer::Augmentation::ScaleCropFlip;
  } else {
    throw std::invalid_argument("unknown augmentation '" + augment + "'");
  }
  const Napi::Value checkpoint = required(options, "checkpoint");
  if (checkpoint.IsObject()) {
    const Napi::Object policy = checkpoint.As<Napi::Object>();
    out.checkpoint.path = string(policy, "path");
    out.checkpoint.everySteps = integer(policy, "everySteps", 0);
    out.checkpoint.everyEpochs = integer(policy, "everyEpochs", 0);
  }
  return out;
}

// ---- results and events → JavaScript ---------------------------------------------------------

Napi::Array numbers(Napi::Env env, const std::vector<double>& values) {
  Napi::Array array = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) array.Set(static_cast<uint32_t>(i), values[i]);
  return array;
}

Napi::Object evaluationObject(Napi::Env env, const Evaluation& e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("meanDice", e.meanDice);
  o.Set("perClassDice", numbers(env, e.perClassDice));
  o.Set("meanIoU", e.meanIoU);
  o.Set("perClassIoU", numbers(env, e.perClassIoU));
  o.Set("loss", e.loss);
  o.Set("images", static_cast<double>(e.images));
  o.Set("cases", static_cast<double>(e.cases));
  if (!e.perClassHd95.empty()) {
    o.Set("hd95", e.hd95);
    o.Set("perClassHd95", numbers(env, e.perClassHd95));
  }
  return o;
}

Napi::Object eventObject(Napi::Env env, const TrainerEvent& event) {
  Napi::Object o = Napi::Object::New(env);
  if (const auto* step = std::get_if<trainer::StepEvent>(&event)) {
    o.Set("type", "step");
    o.Set("epoch", static_cast<double>(step->epoch));
    o.Set("step", static_cast<double>(step->step));
    o.Set("loss", step->loss);
    o.Set("terms", numbers(env, step->terms));
    o.Set("lr", step->lr);
    o.Set("imagesPerSecond", step->imagesPerSecond);
    if (step->skipped) o.Set("skipped", true);
    if (step->nuParameter) o.Set("nuParameter", *step->nuParameter);
  } else if (const auto* epoch = std::get_if<trainer::EpochEvent>(&event)) {
    o.Set("type", "epoch");
    o.Set("epoch", static_cast<double>(epoch->epoch));
    o.Set("loss", epoch->loss);
    o.Set("metrics", epoch->metrics ? Napi::Value(evaluationObject(env, *epoch->metrics)) : env.Null());
  } else {
    o.Set("type", "checkpoint");
    o.Set("path", std::get<trainer::CheckpointEvent>(event).path);
  }
  return o;
}

// The predicted classes [N, H, W] as Uint8Array (K ≤ 256) or Uint16Array.
Napi::Value classArray(Napi::Env env, const at::Tensor& classes /* [N, H, W] int64 CPU */, int64_t numClasses) {
  const size_t n = static_cast<size_t>(classes.numel());
  if (numClasses <= 256) {
    const at::Tensor bytes = classes.to(at::kByte).contiguous();
    Napi::Uint8Array array = Napi::Uint8Array::New(env, n);
    std::memcpy(array.Data(), bytes.data_ptr<uint8_t>(), n);
    return array;
  }
  const at::Tensor wide = classes.to(at::kInt).contiguous();
  Napi::Uint16Array array = Napi::Uint16Array::New(env, n);
  const int32_t* source = wide.data_ptr<int32_t>();
  for (size_t i = 0; i < n; ++i) array[i] = static_cast<uint16_t>(source[i]);
  return array;
}

// ---- jobs on the trainer's thread ------------------------------------------------------------

class TrainerWrap;

// Builds a job's JavaScript result on the main thread (and may update the wrapper).
using ResultBuilder = std::function<Napi::Value(Napi::Env, TrainerWrap&)>;

struct JobMessage {
  enum class Kind { Event, Done, Failed };
  Kind kind = Kind::Event;
  std::optional<TrainerEvent> event;
  ResultBuilder result;
  NativeFailure failure;
};

struct JobContext {
  Napi::Promise::Deferred deferred;
  Napi::FunctionReference onEvent;  // empty for jobs without events
  TrainerWrap* owner = nullptr;
};

void callJs(Napi::Env env, Napi::Function, JobContext* context, JobMessage* message);
using JobChannel = Napi::TypedThreadSafeFunction<JobContext, JobMessage, callJs>;

// What a job's body sees on the worker thread.
struct JobScope {
  std::shared_ptr<Trainer> trainer;      // null before create()
  std::shared_ptr<c10::IValue> opened;   // the checkpoint read by open(), or null
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(TrainerEvent)> emit;
};
using JobBody = std::function<ResultBuilder(JobScope&)>;

// A training fault with its code; libtorch's out-of-memory with advice; any other libtorch error
// without its C++ backtrace; any other exception as it is.
NativeFailure describeFailure(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const trainer::TrainingFault& e) {
    return NativeFailure{NativeFailure::Kind::Generic, e.what(), e.code()};
  } catch (const c10::Error& e) {
    if (trainer::isOutOfMemory(e)) {
      return NativeFailure{NativeFailure::Kind::Generic,
                           std::string("segloss: out of memory (") + e.what_without_backtrace() +
                               "); try a smaller batchSize or image size. The trainer is still usable.",
                           trainer::kOutOfMemoryCode};
    }
    return NativeFailure{NativeFailure::Kind::Generic, std::string("libtorch: ") + e.what_without_backtrace()};
  } catch (...) {
    return captureFailure(std::current_exception());
  }
}

// The live trainers of each environment (the main thread and each worker thread), so that an
// environment's teardown (a worker terminated) stops and joins its own trainers' threads, and
// process exit (std::atexit, before libtorch's static destructors run) all of them: a thread still
// inside libtorch when its globals are destroyed crashes the process. Environments run on their own
// threads, hence the mutex; the registry is never destroyed (the atexit handler reads it).
class TrainerRegistry {
 public:
  void add(napi_env env, TrainerWrap* trainer) {
    const std::lock_guard<std::mutex> lock(mutex_);
    trainers_.emplace_back(env, trainer);
  }
  void remove(TrainerWrap* trainer) {
    const std::lock_guard<std::mutex> lock(mutex_);
    trainers_.erase(std::remove_if(trainers_.begin(), trainers_.end(), [&](const auto& e) { return e.second == trainer; }),
                    trainers_.end());
  }
  // The trainers of `env`, or of every environment when env is null.
  std::vector<TrainerWrap*> of(napi_env env) {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::vector<TrainerWrap*> found;
    for (const auto& [owner, trainer] : trainers_) {
      if (env == nullptr || owner == env) found.push_back(trainer);
    }
    return found;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<napi_env, TrainerWrap*>> trainers_;
};

TrainerRegistry& registry() {
  static auto* instance = new TrainerRegistry();
  return *instance;
}
void stopTrainers(napi_env env);

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeTrainer",
                       {InstanceMethod<&TrainerWrap::Create>("create"), InstanceMethod<&TrainerWrap::Open>("open"),
                        InstanceMethod<&TrainerWrap::Restore>("restore"), InstanceMethod<&TrainerWrap::Fit>("fit"),
                        InstanceMethod<&TrainerWrap::Evaluate>("evaluate"),
                        InstanceMethod<&TrainerWrap::Predict>("predict"), InstanceMethod<&TrainerWrap::Save>("save"),
                        InstanceMethod<&TrainerWrap::LoadWeights>("loadWeights"),
                        InstanceMethod<&TrainerWrap::LoadViTWeights>("loadViTWeights"),
                        InstanceMethod<&TrainerWrap::Abort>("abort"), InstanceMethod<&TrainerWrap::Stop>("stop"), InstanceMethod<&TrainerWrap::Dispose>("dispose")});
  }

  explicit TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
    registry().add(info.Env(), this);
  }

  ~TrainerWrap() override {
    stop();
    registry().remove(this);
  }

  // Asks a running job to stop at its next step boundary and waits for its thread to end.
  void stop() {
    cancel_->store(true);
    if (thread_.joinable()) thread_.join();
  }

  // Called on the main thread by the job's last message (before its promise settles).
  void jobFinished() {
    busy_ = false;
    Unref();
    if (disposed_) release();
  }

  // A job's result taken over by the wrapper (dropped when it was disposed meanwhile).
  void install(std::shared_ptr<Trainer> trainer) {
    if (!disposed_) trainer_ = std::move(trainer);
  }
  void keepOpened(std::shared_ptr<c10::IValue> checkpoint) {
    if (!disposed_) opened_ = std::move(checkpoint);
  }

 private:
  void release() {
    trainer_.reset();
    opened_.reset();
  }

  std::shared_ptr<Trainer> requireTrainer() const {
    if (!trainer_) throw std::invalid_argument("the native trainer has no model yet (create() or restore() first)");
    return trainer_;
  }

  // Starts `body` on the trainer's thread; the promise settles with its result on the main thread.
  Napi::Value startJob(Napi::Env env, JobBody body, Napi::Value onEvent = Napi::Value()) {
    if (disposed_) throw std::invalid_argument("the native trainer is disposed");
    if (busy_) throw std::invalid_argument("the native trainer is running another job");
    if (thread_.joinable()) thread_.join();  // the previous job's thread, past its last message
    auto* context = new JobContext{Napi::Promise::Deferred::New(env), {}, this};
    if (!onEvent.IsEmpty() && onEvent.IsFunction()) context->onEvent = Napi::Persistent(onEvent.As<Napi::Function>());
    const Napi::Promise promise = context->deferred.Promise();
    JobChannel channel = JobChannel::New(env, "segloss:trainer", 0, 1, context,
                                         [](Napi::Env, void*, JobContext* done) { delete done; });
    cancel_->store(false);
    busy_ = true;
    Ref();
    JobScope scope{trainer_, opened_, cancel_.get(), {}};
    thread_ = std::thread([channel, scope = std::move(scope), body = std::move(body), cancel = cancel_, threads = threads_]() mutable {
      useAtenThreads(threads);
      const EngineThreadLimit engineThreads(threads);
      scope.emit = [&channel](TrainerEvent event) {
        auto* message = new JobMessage{JobMessage::Kind::Event, std::move(event), {}, {}};
        if (channel.BlockingCall(message) != napi_ok) delete message;
      };
      auto* last = new JobMessage{};
      try {
        last->result = body(scope);
        last->kind = JobMessage::Kind::Done;
      } catch (...) {
        last->kind = JobMessage::Kind::Failed;
        last->failure = describeFailure(std::current_exception());
      }
      scope = JobScope{};  // drop the job's references to the trainer on this thread
      if (channel.BlockingCall(last) != napi_ok) delete last;
      channel.Release();
    });
    return promise;
  }

  // A job thread's ATen intra-op threads (OpenMP, MKL): `threads`, or libtorch's default
  // (OMP_NUM_THREADS, else the cores) for 0. Set explicitly on every job, as at::set_num_threads
  // also changes the count that later threads' at::init_num_threads reads.
  static void useAtenThreads(int threads) {
    at::init_num_threads();
    at::set_num_threads(threads > 0 ? threads : at::intraop_default_num_threads());
  }

  Napi::Value Create(const Napi::CallbackInfo& info) {
    return guardNative(info.Env(), [&]() -> Napi::Value {
      if (!info[0].IsObject()) throw NativeTypeError("config is not an object");
      threads_ = static_cast<int>(integer(info[0].As<Napi::Object>(), "threads", 0));
      auto config = std::make_shared<trainer::TrainerConfig>(readConfig(info[0].As<Napi::Object>()));
      return startJob(info.Env(), [config](JobScope&) -> ResultBuilder {
        auto built = std::make_shared<Trainer>(std::move(*config));
        const int threads = at::get_num_threads();  // what this trainer's jobs run with (useAtenThreads)
        return [built, threads](Napi::Env env, TrainerWrap& wrap) -> Napi::Value {
          wrap.install(built);
          Napi::Object result = Napi::Object::New(env);
          result.Set("parameterCount", static_cast<double>(built->parameterCount()));
          result.Set("threads", threads);
          return result;
        };
      });
    });
  }

  Napi::Value Open(const Napi::CallbackInfo& info) {
    return guardNative(info.Env(), [&]() -> Napi::Value {
      if (!info[0].IsString()) throw NativeTypeError("path is not a string");
      const std::string path = info[0].As<Napi::String>().Utf8Value();
      return startJob(info.Env(), [path](JobScope&) -> ResultBuilder {
        auto checkpoint = std::make_shared<c10::IValue>(trainer::loadIValue(path));
        if (!checkpoint->isGenericDict()) throw std::invalid_argument(path + " does not hold a dict");
        const auto dict = checkpoint->toGenericDict();
        const auto config = dict.find(std::string("config"));
        if (config == dict.end()) throw std::invalid_argument(path + " is not a segloss checkpoint (no 'config')");
        const c10::IValue record = config->value();
        return [checkpoint, record](Napi::Env env, TrainerWrap& wrap) -> Napi::Value {
          wrap.keepOpened(checkpoint);
          Napi::Object result = Napi::Object::New(env);
          result.Set("config", fromIValue(env, record));
          return result;
        };
      });
    });
  }

  Napi::Value Restore(const Napi::CallbackInfo& info) {
    return guardNative(info.Env(), [&]() -> Napi::Value {
      requireTrainer();
      if (!opened_) throw std::invalid_argument("no checkpoint was opened");
      return startJob(info.Env(), [](JobScope& scope) -> ResultBuilder {
        scope.trainer->restore(*scope.opened);
        const int64_t epoch = scope.trainer->epoch();
        const int64_t step = scope.trainer->step();
        return [epoch, step](Napi::Env env, TrainerWrap& wrap) -> Napi::Value {
          wrap.keepOpened(nullptr);
          Napi::Object result = Napi::Object::New(env);
          result.Set("epoch", static_cast<double>(epoch));
          result.Set("step", static_cast<double>(step));
          return result;
        };
      });
    });
  }

  Napi::Value Fit(const Napi::CallbackInfo& info) {
    return guardNative(info.Env(), [&]() -> Napi::Value {
      requireTrainer();
      if (!info[2].IsObject()) throw NativeTypeError("fit options is not an object");
      auto train = std::make_shared<Dataset>(readDataset(info[0]));
      std::shared_ptr<Dataset> validation;
      if (info[1].IsObject()) validation = std::make_shared<Dataset>(readDataset(info[1]));
      const trainer::FitOptions options = readFitOptions(info[2].As<Napi::Object>());
      return startJob(
          info.Env(),
          [train, validation, options](JobScope& scope) -> ResultBuilder {
            const trainer::FitSummary s =
                scope.trainer->fit(*train, validation.get(), options, scope.emit, *scope.cancel);
            return [s](Napi::Env env, TrainerWrap&) -> Napi::Value {
              Napi::Object result = Napi::Object::New(env);
              result.Set("epoch", static_cast<double>(s.epoch));
              result.Set("step", static_cast<double>(s.step));
              result.Set("loss", s.loss);
              result.Set("aborted", s.aborted);
              return result;
            };
          },
          info[3]);
    });
  }

  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    return guardNative(info.Env(), [&]() -> Napi::Value {
      requireTrainer();
      auto data = std::make_shared<Dataset>(readDataset(info[0]));
      const int64_t batchSize = info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : 8;
      if (batchSize < 1) throw std::invalid_argument("batchSize < 1");
      const bool hd95 = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
      return startJob(info.Env(), [data, batchSize, hd95](JobScope& scope) -> ResultBuilder {
        const Evaluation e = scope.trainer->evaluate(*data, batchSize, hd95);
        return [e](Napi::Env env, TrainerWrap&) -> Napi::Value { return evaluationObject(env, e); };
      });
    });
  }

  Napi::Value Predict(const Napi::CallbackInfo& info) {
    return guardNative(info.Env(), [&]() -> Napi::Value {
      requireTrainer();
      const std::vector<int64_t> shape = readShape4(info[1]);
      auto images = std::make_shared<at::Tensor>(imagesTensor(info[0], shape));
      const int64_t batchSize = info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : 8;
      if (batchSize < 1) throw std::invalid_argument("batchSize < 1");
      const bool logits = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
      return startJob(info.Env(), [images, batchSize, logits](JobScope& scope) -> ResultBuilder {
        const at::Tensor out = scope.trainer->predict(*images, batchSize, logits);
        if (logits) {
          return [out](Napi::Env env, TrainerWrap&) -> Napi::Value {
            const at::Tensor values = out.contiguous();
            Napi::Float32Array array = Napi::Float32Array::New(env, static_cast<size_t>(values.numel()));
            std::memcpy(array.Data(), values.data_ptr<float>(), array.ByteLength());
            return array;
          };
        }
        const at::Tensor classes = out;
        const int64_t numClasses = std::visit([](const auto& o) { return o.numClasses(); }, scope.trainer->config().model);
        return [classes, numClasses](Napi::Env env, TrainerWrap&) -> Napi::Value {
          return classArray(env, classes, numClasses);
        };
      });
    });
  }

  Napi::Value Save(const Napi::CallbackInfo& info) {
    return guardNative(info.Env(), [&]() -> Napi::Value {
      requireTrainer();
      if (!info[0].IsString()) throw NativeTypeError("path is not a string");
      const std::string path = info[0].As<Napi::String>().Utf8Value();
      return startJob(info.Env(), [path](JobScope& scope) -> ResultBuilder {
        scope.trainer->save(path);
        return [](Napi::Env env, TrainerWrap&) -> Napi::Value { return env.Undefined(); };
      });
    });
  }

  Napi::Value LoadWeights(const Napi::CallbackInfo& info) {
    return guardNative(info.Env(), [&]() -> Napi::Value {
      requireTrainer();
      if (!info[0].IsString()) throw NativeTypeError("path is not a string");
      const std::string path = info[0].As<Napi::String>().Utf8Value();
      return startJob(info.Env(), [path](JobScope& scope) -> ResultBuilder {
        scope.trainer->loadWeights(trainer::loadIValue(path));
        return [](Napi::Env env, TrainerWrap&) -> Napi::Value { return env.Undefined(); };
      });
    });
  }

  Napi::Value LoadViTWeights(const Napi::CallbackInfo& info) {
    return guardNative(info.Env(), [&]() -> Napi::Value {
      requireTrainer();
      if (!info[0].IsString()) throw NativeTypeError("path is not a string");
      const std::string path = info[0].As<Napi::String>().Utf8Value();
      return startJob(info.Env(), [path](JobScope& scope) -> ResultBuilder {
        scope.trainer->loadViTWeights(path);
        return [](Napi::Env env, TrainerWrap&) -> Napi::Value { return env.Undefined(); };
      });
    });
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    cancel_->store(true);
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    stop();
    return info.Env().Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    disposed_ = true;
    cancel_->store(true);
    if (!busy_) {
      release();
      if (thread_.joinable()) thread_.join();
    }
    return info.Env().Undefined();
  }

  std::shared_ptr<Trainer> trainer_;
  std::shared_ptr<c10::IValue> opened_;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::thread thread_;
  int threads_ = 0;  // each job thread's ATen and CPU-engine threads; 0: libtorch's default
  bool busy_ = false;
  bool disposed_ = false;
};

void stopTrainers(napi_env env) {
  for (TrainerWrap* trainer : registry().of(env)) trainer->stop();
}

void callJs(Napi::Env env, Napi::Function, JobContext* context, JobMessage* raw) {
  std::unique_ptr<JobMessage> message(raw);
  if (env == nullptr || context == nullptr) return;  // the environment is shutting down
  if (message->kind == JobMessage::Kind::Event) {
    if (context->onEvent.IsEmpty()) return;
    try {
      context->onEvent.Call({eventObject(env, *message->event)});
    } catch (const Napi::Error&) {
      // The TypeScript handler catches its user's errors; nothing can be reported from here.
    }
    return;
  }
  context->owner->jobFinished();
  if (message->kind == JobMessage::Kind::Failed) {
    context->deferred.Reject(toJsError(env, message->failure).Value());
    return;
  }
  try {
    context->deferred.Resolve(message->result(env, *context->owner));
  } catch (const Napi::Error& error) {
    context->deferred.Reject(error.Value());
  } catch (...) {
    context->deferred.Reject(toJsError(env, captureFailure(std::current_exception())).Value());
  }
}

}  // namespace

void registerTrainer(Napi::Env env, Napi::Object exports) {
  static std::once_flag atExit;
  std::call_once(atExit, [] { std::atexit([] { stopTrainers(nullptr); }); });
  napi_add_env_cleanup_hook(env, [](void* owner) { stopTrainers(static_cast<napi_env>(owner)); }, static_cast<napi_env>(env));
  exports.Set("NativeTrainer", TrainerWrap::Define(env));
  exports.Set("cpuBlockCacheInfo", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    const trainer::CpuBlockCacheInfo cache = trainer::cpuBlockCacheInfo();
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("idleBlocks", static_cast<double>(cache.idleBlocks));
    result.Set("idleBytes", static_cast<double>(cache.idleBytes));
    result.Set("reused", static_cast<double>(cache.reused));
    return result;
  }, "cpuBlockCacheInfo"));
}

}  // namespace segloss::addon
