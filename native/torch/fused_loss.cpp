// The differentiable losses on libtorch tensors (fused_loss.h): input checks with ATen ops (they run
// on either device), the one place that picks the CPU or CUDA engine, and FusedLossFunction.
#include "fused_loss.h"
#include "pooled_tensor.h"
#include "tensor_text.h"

#include <limits>
#include <type_traits>
#include <variant>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/grad_mode.h>
#include <c10/core/DeviceGuard.h>
#include <torch/csrc/autograd/custom_function.h>

#ifdef SEGLOSS_WITH_CUDA
#include <c10/cuda/CUDAStream.h>

#include "../cuda/losses_cuda.h"
#endif

namespace segloss::torch_ops {
namespace {

// logits [B, C, ...] and target [B, ...] with the same B and spatial dims, on one device.
void checkShapes(const at::Tensor& logits, const at::Tensor& target) {
  if (!logits.defined() || !target.defined()) throw LossArgumentError("logits and target must be defined tensors");
  if (logits.dim() < 2) throw LossArgumentError("logits must be [B, C, ...], got " + sizesText(logits));
  bool same = target.dim() == logits.dim() - 1 && target.size(0) == logits.size(0);
  for (int64_t d = 1; same && d < target.dim(); ++d) same = target.size(d) == logits.size(d + 1);
  if (!same) {
    throw LossArgumentError("target " + sizesText(target) + " does not match logits " + sizesText(logits) +
                            " (expected [B, ...] of logits [B, C, ...])");
  }
  if (logits.numel() == 0) throw LossArgumentError("logits " + sizesText(logits) + " is empty");
  if (target.device() != logits.device()) {
    throw LossArgumentError("target is on " + target.device().str() + ", logits on " + logits.device().str());
  }
}

ScalarType engineScalarType(const at::Tensor& logits) {
  if (logits.scalar_type() == at::kFloat) return ScalarType::Float32;
  if (logits.scalar_type() == at::kDouble) return ScalarType::Float64;
  throw LossArgumentError(std::string("logits must be float32 or float64, got ") + c10::toString(logits.scalar_type()));
}

// Whether v is a value of the integer dtype (so comparing a tensor of it with v cannot wrap).
bool representable(at::ScalarType type, int64_t v) {
  switch (type) {
    case at::kByte: return v >= 0 && v <= std::numeric_limits<uint8_t>::max();
    case at::kChar: return v >= std::numeric_limits<int8_t>::min() && v <= std::numeric_limits<int8_t>::max();
    case at::kShort: return v >= std::numeric_limits<int16_t>::min() && v <= std::numeric_limits<int16_t>::max();
    case at::kInt: return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
    default: return true;  // kLong
  }
}

// The target in a dtype whose comparisons with int64 scalars are exact (small signed / unsigned
// dtypes stay; any other integer dtype becomes int64).
at::Tensor comparableLabels(const at::Tensor& target) {
  switch (target.scalar_type()) {
    case at::kByte:
    case at::kChar:
    case at::kShort:
    case at::kInt:
    case at::kLong: return target;
    default:
      if (!at::isIntegralType(target.scalar_type(), /*includeBool=*/false)) {
        throw LossArgumentError(std::string("target must hold integer labels, got ") +
                                c10::toString(target.scalar_type()));
      }
      return target.to(at::kLong);
  }
}

// [B, ...] bool: labels outside [0, K) that are not the ignore index.
at::Tensor invalidLabels(const at::Tensor& labels, int64_t classes, std::optional<int64_t> ignoreIndex) {
  const at::ScalarType type = labels.scalar_type();
  at::Tensor invalid = at::zeros_like(labels, labels.options().dtype(at::kBool));
  if (representable(type, -1)) invalid = invalid.logical_or(labels.lt(0));
  if (representable(type, classes)) invalid = invalid.logical_or(labels.ge(classes));
  if (ignoreIndex && representable(type, *ignoreIndex)) invalid = invalid.logical_and(labels.ne(*ignoreIndex));
  return invalid;
}

// Throws LossArgumentError naming the first flat index of a label outside [0, K).
void checkLabels(const at::Tensor& labels, int64_t classes, std::optional<int64_t> ignoreIndex) {
  const at::Tensor invalid = invalidLabels(labels, classes, ignoreIndex).flatten();
  if (!invalid.any().item<bool>()) return;
  const int64_t first = invalid.to(at::kInt).argmax().item<int64_t>();  // the first maximum
  throw LossArgumentError("label outside [0, K) at flat index " + std::to_string(first) +
                          " (K = " + std::to_string(classes) + ")");
}

// The target as the engine reads it: uint8 / int32 as they are, other integer dtypes as int32
// with ignored labels mapped to −1 (so an ignore index beyond int32 still works).
struct EngineLabels {
  at::Tensor tensor;  // [B, ...] contiguous, uint8 or int32
  LabelType type = LabelType::Int32;
  bool hasIgnore = false;
  int64_t ignoreIndex = -100;
};

EngineLabels engineLabels(const at::Tensor& labels, std::optional<int64_t> ignoreIndex) {
  EngineLabels out;
  out.hasIgnore = ignoreIndex.has_value();
  out.ignoreIndex = ignoreIndex.value_or(-100);
  if (labels.scalar_type() == at::kByte || labels.scalar_type() == at::kInt) {
    out.tensor = labels.contiguous();
    out.type = labels.scalar_type() == at::kByte ? LabelType::UInt8 : LabelType::Int32;
    return out;
  }
  at::Tensor mapped = labels;
  if (ignoreIndex && representable(labels.scalar_type(), *ignoreIndex)) {
    mapped = labels.masked_fill(labels.eq(*ignoreIndex), -1);
    out.ignoreIndex = -1;
  }
  out.tensor = mapped.to(at::kInt).contiguous();
  out.type = LabelType::Int32;
  return out;
}

// Σ weight · term value on the CPU engine: one compound call (the terms share its passes).
void runEngineCpu(const LossTensors& tensors, const std::vector<WeightedLossOptions>& terms, const LossGradient* grad,
                  double* value) {
  *value = computeLossCpu(tensors, terms, grad);
}

#ifdef SEGLOSS_WITH_CUDA
// Σ weight · term value on the CUDA engine, term by term on the current stream (term t writes, or
// adds after the first, scale grad->scale · weight_t times its gradient); workspaces come from the caching allocator, which
// is stream-ordered. `deviceValue` is one device double. Array options are copied to the device
// and bound into the functors.
void runEngineCuda(const LossTensors& tensors, const std::vector<WeightedLossOptions>& terms, const LossGradient* grad,
                   double* deviceValue, const at::Device& device) {
  const auto onDevice = at::TensorOptions().dtype(at::kDouble).device(device);
  const at::Tensor termValues = at::empty({static_cast<int64_t>(terms.size())}, onDevice);
  std::vector<at::Tensor> deviceArrays;  // keeps the functors' arrays alive for the calls
  LossContext context{probabilityClasses(tensors.channels), [&](const DoubleArray& array) -> const double* {
                        if (array.empty()) return nullptr;
                        deviceArrays.push_back(at::tensor(array.values, at::kDouble).to(device));
                        return deviceArrays.back().data_ptr<double>();
                      }};
  std::vector<double> weights;
  for (size_t t = 0; t < terms.size(); ++t) {
    checkLossOptions(terms[t].options, context.classes);
    const LossFunctor functor = makeLossFunctor(terms[t].options, context);
    const size_t bytes = lossWorkspaceBytesCuda(tensors, functor);
    const at::Tensor workspace = at::empty({static_cast<int64_t>(bytes > 0 ? bytes : 1)}, onDevice.dtype(at::kByte));
    LossGradient termGrad;
    if (grad) termGrad = LossGradient{grad->data, grad->scale * terms[t].weight, grad->accumulate || t > 0};
    computeLossCuda(tensors, functor, grad ? &termGrad : nullptr, termValues.data_ptr<double>() + t,
                    workspace.data_ptr(), c10::cuda::getCurrentCUDAStream(device.index()).stream());
    weights.push_back(terms[t].weight);
  }
  const at::Tensor total = termValues.mul(at::tensor(weights, at::kDouble).to(device)).sum();
  at::from_blob(deviceValue, {1}, onDevice).copy_(total.view({1}));
}
#endif

// The one place that picks the engine by device: Σ weight · term value into `value` (one double
// on that device), scale · Σ weight · d term / d logits written (or added, when accumulating) into
// grad->data.
void runEngine(const at::Device& device, const LossTensors& tensors, const std::vector<WeightedLossOptions>& terms,
               const LossGradient* grad, double* value) {
  if (device.is_cpu()) {
    runEngineCpu(tensors, terms, grad, value);
    return;
  }
#ifdef SEGLOSS_WITH_CUDA
  if (device.is_cuda()) {
    runEngineCuda(tensors, terms, grad, value, device);
    return;
  }
#endif
  throw LossArgumentError("segloss has no engine for device " + device.str() +
                          (device.is_cuda() ? " (this build of the torch addon has no CUDA engine)" : ""));
}

// Whether the CPU engine reads this label dtype as it is (and checks the labels itself, in its
// first pass, naming the first bad flat index): no ATen passes over the labels then.
bool cpuNativeLabels(const at::Tensor& labels) {
  const at::ScalarType type = labels.scalar_type();
  return labels.device().is_cpu() && (type == at::kByte || type == at::kInt || type == at::kLong);
}

EngineLabels nativeLabels(const at::Tensor& labels, std::optional<int64_t> ignoreIndex) {
  EngineLabels out;
  out.tensor = labels.contiguous();
  out.type = labels.scalar_type() == at::kByte ? LabelType::UInt8
             : labels.scalar_type() == at::kInt ? LabelType::Int32
                                                : LabelType::Int64;
  out.hasIgnore = ignoreIndex.has_value();
  out.ignoreIndex = ignoreIndex.value_or(-100);
  return out;
}

// The engine's labels for each distinct ignore index of the objective, checked once each (by ATen
// ops, except for the dtypes the CPU engine reads and checks itself).
class LabelCache {
 public:
  LabelCache(const at::Tensor& labels, int64_t classes) : labels_(labels), classes_(classes) {}

  const at::Tensor& labels() const { return labels_; }
  int64_t classes() const { return classes_; }

  EngineLabels get(std::optional<int64_t> ignoreIndex) {
    for (const auto& [ignore, engine] : entries_) {
      if (ignore == ignoreIndex) return engine;
    }
    if (cpuNativeLabels(labels_)) {
      entries_.emplace_back(ignoreIndex, nativeLabels(labels_, ignoreIndex));
    } else {
      checkLabels(labels_, classes_, ignoreIndex);
      entries_.emplace_back(ignoreIndex, engineLabels(labels_, ignoreIndex));
    }
    return entries_.back().second;
  }

 private:
  at::Tensor labels_;  // [B, ...] comparable integer dtype
  int64_t classes_;    // K
  std::vector<std::pair<std::optional<int64_t>, EngineLabels>> entries_;
};

// The engines' view of logits [B, C, ...] and the engine labels, with the spatial shape (2-D or 3-D).
LossTensors engineTensors(const at::Tensor& logits, const EngineLabels& target, Activation activation) {
  LossTensors tensors;
  tensors.logits = logits.data_ptr();
  tensors.dtype = engineScalarType(logits);
  tensors.target = target.tensor.data_ptr();
  tensors.labelType = target.type;
  tensors.batch = logits.size(0);
  tensors.channels = logits.size(1);
  tensors.pixels = logits.numel() / (tensors.batch * tensors.channels);
  tensors.activation = activation;
  tensors.hasIgnore = target.hasIgnore;
  tensors.ignoreIndex = target.ignoreIndex;
  const int64_t spatial = logits.dim() - 2;
  if (spatial == 2 || spatial == 3) {
    tensors.spatialDims = static_cast<int>(spatial);
    for (int64_t d = 0; d < spatial; ++d) tensors.extent[3 - spatial + d] = logits.size(2 + d);
  }
  return tensors;
}

void runTermGroup(const std::vector<LossTerm>& terms, size_t first, size_t last, const at::Tensor& logits,
                  LabelCache& labels, at::Tensor& grad, bool accumulate, double* value, double* stateGrad);

// rmi works on image planes: a term whose plane size is unset (0, from a request resolved without
// the input's shape, e.g. a trainer objective) gets the logits' last two dimensions.
LossOptions withPlaneSize(LossOptions options, const at::Tensor& logits /* [B, C, ..., H, W] */) {
  if (auto* rmi = std::get_if<RmiOptions>(&options); rmi && (rmi->height == 0 || rmi->width == 0) && logits.dim() >= 4) {
    rmi->height = static_cast<int>(logits.size(-2));
    rmi->width = static_cast<int>(logits.size(-1));
  }
  return options;
}

// Whether terms [first, last) on this device need the CPU engine (a term of a family without a
// CUDA engine, loss_list.h cpuOnlyLoss — Special, Confusion, Planar, learned state — on a non-CPU
// device).
bool needsCpuEngine(const std::vector<LossTerm>& terms, size_t first, size_t last, const at::Device& device) {
  if (device.is_cpu()) return false;
  for (size_t t = first; t < last; ++t) {
    if (cpuOnlyLoss(terms[t].options)) return true;
  }
  return false;
}

// runTermGroup on host copies of the logits and labels; the value goes to the device double
// *value, the gradient is copied (or added) back into the device gradient.
void runTermGroupOnCpu(const std::vector<LossTerm>& terms, size_t first, size_t last, const at::Tensor& logits,
                       LabelCache& labels, at::Tensor& grad, bool accumulate, double* value, double* stateGrad) {
  const at::Tensor hostLogits = logits.cpu();
  LabelCache hostLabels(labels.labels().cpu(), labels.classes());
  at::Tensor hostGrad = grad.defined() ? pooledEmptyLike(hostLogits) : at::Tensor();
  double hostValue = 0.0;
  runTermGroup(terms, first, last, hostLogits, hostLabels, hostGrad, false, &hostValue, stateGrad);
  if (grad.defined()) {
    if (accumulate) grad.add_(hostGrad.to(grad.device()));
    else grad.copy_(hostGrad);
  }
  at::from_blob(value, {1}, at::TensorOptions().dtype(at::kDouble).device(logits.device())).fill_(hostValue);
}

// Terms [first, last) share the activation and the ignore index: one engine call, its weighted
// value into *value, its weighted gradient written into grad (added when `accumulate`), and with
// grad the weighted d value / d learned state added to *stateGrad (a host double).
void runTermGroup(const std::vector<LossTerm>& terms, size_t first, size_t last, const at::Tensor& logits,
                  LabelCache& labels, at::Tensor& grad, bool accumulate, double* value, double* stateGrad) {
  if (needsCpuEngine(terms, first, last, logits.device())) {
    runTermGroupOnCpu(terms, first, last, logits, labels, grad, accumulate, value, stateGrad);
    return;
  }
  const int64_t classes = probabilityClasses(logits.size(1));
  resolveActivation(terms[first].activation, logits.size(1));  // throws for softmax with C = 1
  const EngineLabels target = labels.get(terms[first].ignoreIndex);

  std::vector<WeightedLossOptions> group;
  for (size_t t = first; t < last; ++t) {
    checkLossOptions(terms[t].options, static_cast<int>(classes));
    group.push_back(WeightedLossOptions{withPlaneSize(terms[t].options, logits), terms[t].weight});
  }

  const LossTensors tensors = engineTensors(logits, target, terms[first].activation);
  const LossGradient groupGrad{grad.defined() ? grad.data_ptr() : nullptr, 1.0, accumulate, stateGrad};
  runEngine(logits.device(), tensors, group, grad.defined() ? &groupGrad : nullptr, value);
}

// value = Σ_t w_t L_t(z, y);  forward saves G = ∂value/∂z (computed by the engines with the value).
// backward: ∂out/∂z = (∂out/∂value) · G — the upstream scalar times the saved gradient; the target
// and the objective get no gradient. Differentiable once.
class FusedLossFunction : public torch::autograd::Function<FusedLossFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits /* [B, C, ...] */,
                            const at::Tensor& target /* [B, ...] */, const Objective& objective) {
    FusedResult result = computeFused(logits, target, objective, /*withGrad=*/true);
    // Kept in saved_data rather than save_for_backward: backward moves it out, so that with an
    // upstream gradient of 1 autograd receives the engine's gradient itself (no multiply, no copy).
    ctx->saved_data["grad"] = result.grad;
    return result.value;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list upstream /* {[]} */) {
    return {scaledSavedGrad(ctx, upstream[0]), at::Tensor(), at::Tensor()};
  }

  // (∂out/∂value) · G, moving the saved G out (so a second backward throws).
  static at::Tensor scaledSavedGrad(torch::autograd::AutogradContext* ctx, const at::Tensor& upstream /* [] */) {
    auto saved = ctx->saved_data.find("grad");
    if (saved == ctx->saved_data.end()) {
      throw LossArgumentError("segloss's fused loss is differentiable once: its backward already ran");
    }
    at::Tensor grad = saved->second.toTensor();  // [B, C, ...]
    ctx->saved_data.erase("grad");
    const at::Tensor scale = upstream.to(grad.scalar_type());
    const bool unit = scale.device().is_cpu() && scale.numel() == 1 && scale.item<double>() == 1.0;
    return unit ? grad : grad * scale;
  }
};

// FusedLossFunction with a learned θ as a fourth input (objective.nuParameter, robust-t):
// ∂out/∂θ = (∂out/∂value) · d value / d θ, computed by the CPU driver with the value.
class FusedLossStateFunction : public torch::autograd::Function<FusedLossStateFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits /* [B, C, ...] */,
                            const at::Tensor& target /* [B, ...] */, const Objective& objective,
                            const at::Tensor& nuParameter /* [] */) {
    FusedResult result = computeFused(logits, target, objective, /*withGrad=*/true);
    ctx->saved_data["grad"] = result.grad;
    ctx->saved_data["gradNuParameter"] = result.gradNuParameter;
    ctx->saved_data["nuParameter"] = nuParameter.detach();
    return result.value;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list upstream /* {[]} */) {
    const at::Tensor nu = ctx->saved_data["nuParameter"].toTensor();
    const double dTheta = ctx->saved_data["gradNuParameter"].toDouble();
    const at::Tensor nuGrad = (upstream[0].to(at::kDouble) * dTheta).to(nu.options()).reshape(nu.sizes());
    return {FusedLossFunction::scaledSavedGrad(ctx, upstream[0]), at::Tensor(), at::Tensor(), nuGrad};
  }
};

// The objective's terms, with objective.nuParameter (when defined) as θ of every robust-t term.
std::vector<LossTerm> termsWithState(const Objective& objective) {
  std::vector<LossTerm> terms = objective.terms;
  if (!objective.nuParameter.defined()) return terms;
  if (objective.nuParameter.numel() != 1) throw LossArgumentError("the objective's nuParameter must hold one number");
  const double theta = objective.nuParameter.detach().to(at::kCPU).to(at::kDouble).item<double>();
  for (LossTerm& term : terms) {
    if (auto* robust = std::get_if<RobustTOptions>(&term.options)) robust->nuParameter = theta;
  }
  return terms;
}

}  // namespace

FusedResult computeFused(const at::Tensor& logitsIn, const at::Tensor& targetIn, const Objective& objective,
                         bool withGrad) {
  if (objective.terms.empty()) throw LossArgumentError("the objective has no loss terms");
  checkShapes(logitsIn, targetIn);
  engineScalarType(logitsIn);
  const c10::DeviceGuard guard(logitsIn.device());
  const at::Tensor logits = logitsIn.detach().contiguous();
  LabelCache labels(comparableLabels(targetIn.detach()).contiguous(), probabilityClasses(logitsIn.size(1)));
  const auto onDevice = at::TensorOptions().dtype(at::kDouble).device(logits.device());

  FusedResult result;
  // The first engine call writes every gradient entry (ignored pixels get 0); later ones add.
  if (withGrad) result.grad = gradientLike(logits);
  const std::vector<LossTerm> terms = termsWithState(objective);
  at::Tensor values = at::zeros({static_cast<int64_t>(terms.size())}, onDevice);  // one slot per group
  int64_t groups = 0;
  forEachSharedRun(terms, [&](size_t first, size_t last) {
    runTermGroup(terms, first, last, logits, labels, result.grad, groups > 0, values.data_ptr<double>() + groups,
                 withGrad ? &result.gradNuParameter : nullptr);
    ++groups;
  });
  result.value = values.sum().to(logits.scalar_type());
  return result;
}

at::Tensor loss(const at::Tensor& logits, const at::Tensor& target, const Objective& objective) {
  const bool learnsState = objective.nuParameter.defined() && objective.nuParameter.requires_grad();
  if (at::GradMode::is_enabled() && (logits.requires_grad() || learnsState)) {
    if (learnsState) return FusedLossStateFunction::apply(logits, target, objective, objective.nuParameter);
    return FusedLossFunction::apply(logits, target, objective);
  }
  return computeFused(logits, target, objective, /*withGrad=*/false).value;
}

at::Tensor loss(const at::Tensor& logits, const at::Tensor& target, const LossOptions& options, Activation activation,
                std::optional<int64_t> ignoreIndex) {
  Objective objective;
  objective.terms.push_back(LossTerm{options, 1.0, activation, ignoreIndex});
  return loss(logits, target, objective);
}

bool builtWithCuda() {
#ifdef SEGLOSS_WITH_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace segloss::torch_ops
