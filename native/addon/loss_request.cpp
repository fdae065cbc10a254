// Reading the resolved request (loss_request.h).
#include "loss_request.h"

#include <cmath>
#include <string>
#include <type_traits>
#include <variant>

#include "errors.h"

namespace segloss::addon {
namespace {

Napi::Value field(Napi::Object object, const char* name) {
  if (!object.Has(name)) throw NativeTypeError(std::string("resolved loss term lacks '") + name + "'");
  return object.Get(name);
}

double readNumber(Napi::Object object, const char* name) {
  const Napi::Value value = field(object, name);
  if (!value.IsNumber()) throw NativeTypeError(std::string("resolved field '") + name + "' is not a number");
  const double x = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(x)) throw LossArgumentError(std::string("resolved field '") + name + "' is not finite");
  return x;
}

bool readBool(Napi::Object object, const char* name) {
  const Napi::Value value = field(object, name);
  if (!value.IsBoolean()) throw NativeTypeError(std::string("resolved field '") + name + "' is not a boolean");
  return value.As<Napi::Boolean>().Value();
}

std::string readString(Napi::Object object, const char* name) {
  const Napi::Value value = field(object, name);
  if (!value.IsString()) throw NativeTypeError(std::string("resolved field '") + name + "' is not a string");
  return value.As<Napi::String>().Utf8Value();
}

Activation readActivation(Napi::Object term) {
  const std::string name = readString(term, "activation");
  if (name == "softmax") return Activation::Softmax;
  if (name == "sigmoid") return Activation::Sigmoid;
  if (name == "none") return Activation::None;
  throw LossArgumentError("resolved activation '" + name + "' is unknown");
}

void readIgnore(Napi::Object term, LossTerm& request) {
  const Napi::Value value = field(term, "ignoreIndex");
  if (value.IsNull() || value.IsUndefined()) return;
  if (!value.IsNumber()) throw NativeTypeError("resolved field 'ignoreIndex' is not a number or null");
  const double x = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(x) || std::trunc(x) != x || std::fabs(x) > 9007199254740991.0) {
    throw LossArgumentError("resolved field 'ignoreIndex' is not a safe integer");
  }
  request.ignoreIndex = static_cast<int64_t>(x);
}

int readInt(Napi::Object object, const char* name) {
  const double x = readNumber(object, name);
  if (std::trunc(x) != x || std::fabs(x) > 2147483647.0) {
    throw LossArgumentError(std::string("resolved field '") + name + "' is not a 32-bit integer");
  }
  return static_cast<int>(x);
}

DoubleArray readArray(Napi::Object object, const char* name) {
  const Napi::Value value = field(object, name);
  DoubleArray array;
  if (value.IsNull() || value.IsUndefined()) return array;
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array) {
    const Napi::Float64Array typed = value.As<Napi::Float64Array>();
    array.values.assign(typed.Data(), typed.Data() + typed.ElementLength());
  } else if (value.IsArray()) {
    const Napi::Array list = value.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      const Napi::Value x = list.Get(i);
      if (!x.IsNumber()) throw NativeTypeError(std::string("resolved field '") + name + "' holds a non-number");
      array.values.push_back(x.As<Napi::Number>().DoubleValue());
    }
  } else {
    throw NativeTypeError(std::string("resolved field '") + name + "' is not an array, a Float64Array or null");
  }
  for (const double x : array.values) {
    if (!std::isfinite(x)) throw LossArgumentError(std::string("resolved field '") + name + "' holds a non-finite number");
  }
  return array;
}

}  // namespace

void readResolvedField(Napi::Object term, const char* name, bool& out) { out = readBool(term, name); }
void readResolvedField(Napi::Object term, const char* name, double& out) { out = readNumber(term, name); }
void readResolvedField(Napi::Object term, const char* name, int& out) { out = readInt(term, name); }
void readResolvedField(Napi::Object term, const char* name, DoubleArray& out) { out = readArray(term, name); }

std::optional<int64_t> readResolvedIgnoreIndex(Napi::Object term) {
  LossTerm request;
  readIgnore(term, request);
  return request.ignoreIndex;
}

double readResolvedNumber(Napi::Object object, const char* name) { return readNumber(object, name); }

namespace {

// One field of an options struct, by the member's type.
template <class Options, class Member>
void readField(Napi::Object term, const OptionField<Options, Member>& spec, Options& options) {
  readResolvedField(term, spec.name, options.*(spec.member));
}

// The options of the loss named `id`, every field of its list read from `term`.
LossOptions readOptions(const std::string& id, Napi::Object term) {
  LossOptions options;
  if (!defaultOptionsFor(id, options)) throw LossArgumentError("resolved loss id '" + id + "' is unknown to the native core");
  std::visit([&](auto& opts) {
    using Options = std::decay_t<decltype(opts)>;
    forEachField<Options>([&](const auto& spec) { readField(term, spec, opts); });
    if (const char* problem = opts.invalid()) throw LossArgumentError(std::string("resolved ") + problem);
  }, options);
  return options;
}

LossTerm readLossTerm(Napi::Value value) {
  if (!value.IsObject()) throw NativeTypeError("resolved loss term is not an object");
  const Napi::Object term = value.As<Napi::Object>();
  LossTerm request;
  const std::string id = readString(term, "id");
  request.weight = readNumber(term, "weight");
  request.activation = readActivation(term);
  readIgnore(term, request);
  request.options = readOptions(id, term);
  return request;
}

}  // namespace

std::vector<LossTerm> readLossTerms(Napi::Object request) {
  const Napi::Value value = field(request, "terms");
  if (!value.IsArray()) throw NativeTypeError("resolved 'terms' is not an array");
  const Napi::Array array = value.As<Napi::Array>();
  if (array.Length() == 0) throw LossArgumentError("resolved 'terms' is empty");
  std::vector<LossTerm> terms;
  terms.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) terms.push_back(readLossTerm(array.Get(i)));
  return terms;
}

LossRequest readLossRequest(Napi::Object request) {
  LossRequest result;
  result.terms = readLossTerms(request);
  result.gradScale = readNumber(request, "gradScale");
  return result;
}

void checkLossTerms(const std::vector<LossTerm>& terms, int64_t channels) {
  for (const LossTerm& term : terms) {
    resolveActivation(term.activation, channels);  // throws for softmax with C = 1
    checkLossOptions(term.options, probabilityClasses(channels));
  }
}

// Each run of terms sharing the activation and the ignore index (always one run, from
// TypeScript) is one compound call of the core's tile engine; later runs accumulate.
double computeLossTermsCpu(const LossTensors& tensors, const std::vector<LossTerm>& terms,
                           const LossGradient* grad) {
  checkLossTerms(terms, tensors.channels);
  double value = 0.0;
  bool accumulate = grad && grad->accumulate;
  forEachSharedRun(terms, [&](size_t first, size_t last) {
    std::vector<WeightedLossOptions> run;
    for (size_t k = first; k < last; ++k) run.push_back({terms[k].options, terms[k].weight});
    LossTensors runTensors = tensors;
    runTensors.activation = terms[first].activation;
    runTensors.hasIgnore = terms[first].ignoreIndex.has_value();
    runTensors.ignoreIndex = terms[first].ignoreIndex.value_or(-100);
    LossGradient runGrad;
    if (grad) runGrad = LossGradient{grad->data, grad->scale, accumulate, grad->stateGrad};
    value += computeLossCpu(runTensors, run, grad ? &runGrad : nullptr);
    accumulate = true;
  });
  return value;
}

}  // namespace segloss::addon
