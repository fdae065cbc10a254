// Reading the resolved request (loss_request.h).
#include "loss_request.h"

#include <cmath>
#include <string>

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

std::vector<double> readWeights(Napi::Value value) {
  std::vector<double> weights;
  if (value.IsNull() || value.IsUndefined()) return weights;
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array) {
    const Napi::Float64Array array = value.As<Napi::Float64Array>();
    weights.assign(array.Data(), array.Data() + array.ElementLength());
  } else if (value.IsArray()) {
    const Napi::Array array = value.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      const Napi::Value w = array.Get(i);
      if (!w.IsNumber()) throw NativeTypeError("resolved classWeights holds a non-number");
      weights.push_back(w.As<Napi::Number>().DoubleValue());
    }
  } else {
    throw NativeTypeError("resolved field 'classWeights' is not an array, a Float64Array or null");
  }
  for (const double w : weights) {
    if (!std::isfinite(w) || w < 0.0) throw LossArgumentError("resolved classWeights holds a negative or non-finite weight");
  }
  return weights;
}

CrossEntropyOptions readCrossEntropy(Napi::Object term, LossTerm& request) {
  CrossEntropyOptions options;
  request.classWeights = readWeights(field(term, "classWeights"));
  options.labelSmoothing = readNumber(term, "labelSmoothing");
  if (options.labelSmoothing < 0.0 || options.labelSmoothing > 1.0) {
    throw LossArgumentError("resolved labelSmoothing is outside [0, 1]");
  }
  return options;
}

DiceOptions readDice(Napi::Object term) {
  DiceOptions options;
  options.perImage = readBool(term, "perImage");
  options.includeBackground = readBool(term, "includeBackground");
  options.smooth = readNumber(term, "smooth");
  options.squared = readBool(term, "squared");
  options.logLoss = readBool(term, "logLoss");
  options.denominatorClamp = readNumber(term, "denominatorClamp");
  options.zeroAbsentClasses = readBool(term, "zeroAbsentClasses");
  options.offset = readNumber(term, "offset");
  if (options.smooth < 0.0 || options.denominatorClamp < 0.0) {
    throw LossArgumentError("resolved smooth or denominatorClamp is negative");
  }
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
  if (id == "cross-entropy") {
    request.options = readCrossEntropy(term, request);
  } else if (id == "dice") {
    request.options = readDice(term);
  } else {
    throw LossArgumentError("resolved loss id '" + id + "' is unknown to the native core");
  }
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
  const size_t classes = static_cast<size_t>(probabilityClasses(channels));
  for (const LossTerm& term : terms) {
    resolveActivation(term.activation, channels);  // throws for softmax with C = 1
    if (!term.classWeights.empty() && term.classWeights.size() != classes) {
      throw LossArgumentError("classWeights has " + std::to_string(term.classWeights.size()) + " entries, expected K = " +
                              std::to_string(classes));
    }
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
    for (size_t k = first; k < last; ++k) run.push_back({boundOptions(terms[k], hostClassWeights(terms[k])), terms[k].weight});
    LossTensors runTensors = tensors;
    runTensors.activation = terms[first].activation;
    runTensors.hasIgnore = terms[first].ignoreIndex.has_value();
    runTensors.ignoreIndex = terms[first].ignoreIndex.value_or(-100);
    LossGradient runGrad;
    if (grad) runGrad = LossGradient{grad->data, grad->scale, accumulate};
    value += computeLossCpu(runTensors, run, grad ? &runGrad : nullptr);
    accumulate = true;
  });
  return value;
}

}  // namespace segloss::addon
