// The standalone losses on tensors (standalone_losses_torch.h).
#include "standalone_losses_torch.h"

#include <string>
#include <vector>

#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "../core/standalone/inverse_form_net.h"
#include "pooled_tensor.h"
#include "tensor_text.h"

namespace segloss::torch_ops {
namespace {

ScalarType scalarTypeOf(const at::Tensor& logits) {
  if (logits.scalar_type() == at::kFloat) return ScalarType::Float32;
  if (logits.scalar_type() == at::kDouble) return ScalarType::Float64;
  throw LossArgumentError(std::string("logits must be float32 or float64, got ") + c10::toString(logits.scalar_type()));
}

// logits [B, C', ...spatial] (2 or 3 spatial dims) and target [B, ...spatial].
void checkSpatialMatch(const at::Tensor& logits, const at::Tensor& target) {
  if (!logits.defined() || !target.defined()) throw LossArgumentError("logits and target must be defined tensors");
  if (logits.dim() != 4 && logits.dim() != 5) throw LossArgumentError("logits must be [B, C, H, W] or [B, C, D, H, W], got " + sizesText(logits));
  bool same = target.dim() == logits.dim() - 1 && target.size(0) == logits.size(0);
  for (int64_t d = 1; same && d < target.dim(); ++d) same = target.size(d) == logits.size(d + 1);
  if (!same) throw LossArgumentError("target " + sizesText(target) + " does not match logits " + sizesText(logits));
  if (!at::isIntegralType(target.scalar_type(), /*includeBool=*/false)) {
    throw LossArgumentError(std::string("target must hold integer labels, got ") + c10::toString(target.scalar_type()));
  }
}

geometry::GridShape gridOf(const at::Tensor& logits) {
  geometry::GridShape grid;
  grid.spatialDims = static_cast<int>(logits.dim()) - 2;
  grid.depth = logits.dim() == 5 ? logits.size(2) : 1;
  grid.height = logits.size(-2);
  grid.width = logits.size(-1);
  return grid;
}

struct ValueAndGrad {
  at::Tensor value;  // [] logits' dtype, logits' device
  at::Tensor grad;   // like the logits, or undefined
};

// The engine's view of host logits [B, C, ...] and int64 labels, with `pixels` per image.
LossTensors hostTensors(const at::Tensor& logits, const at::Tensor& target, int64_t pixels, std::optional<int64_t> ignoreIndex) {
  LossTensors t;
  t.logits = logits.data_ptr();
  t.dtype = scalarTypeOf(logits);
  t.target = target.data_ptr();
  t.labelType = LabelType::Int64;
  t.batch = logits.size(0);
  t.channels = logits.size(1);
  t.pixels = pixels;
  t.hasIgnore = ignoreIndex.has_value();
  t.ignoreIndex = ignoreIndex.value_or(-100);
  return t;
}

// run(grad or nullptr) → the value, with the gradient (like the host logits) when withGrad; both
// moved to `device`.
template <class Run>
ValueAndGrad valueAndGradOnHost(const at::Tensor& logits, at::Device device, bool withGrad, Run run) {
  ValueAndGrad out;
  at::Tensor grad = withGrad ? gradientLike(logits) : at::Tensor();
  const LossGradient engineGrad{withGrad ? grad.data_ptr() : nullptr, 1.0, false};
  const double value = run(withGrad ? &engineGrad : nullptr);
  out.value = at::scalar_tensor(value, logits.options()).to(device);
  if (withGrad) out.grad = grad.to(device);
  return out;
}

ValueAndGrad boundaryAwareForward(const at::Tensor& logitsIn, const at::Tensor& targetIn, const BoundaryAwareOptions& options,
                                  std::optional<int64_t> ignoreIndex, bool withGrad) {
  checkSpatialMatch(logitsIn, targetIn);
  scalarTypeOf(logitsIn);
  // the CPU path, for CPU and CUDA tensors alike
  const at::Tensor logits = logitsIn.detach().to(at::kCPU).contiguous();
  const at::Tensor target = targetIn.detach().to(at::kCPU).to(at::kLong).contiguous();
  BinnedLossInput input;
  input.grid = gridOf(logits);
  input.tensors = hostTensors(logits, target, input.grid.voxels(), ignoreIndex);
  return valueAndGradOnHost(logits, logitsIn.device(), withGrad,
                            [&](const LossGradient* grad) { return boundaryAwareLossCpu(input, options, grad); });
}

// value = L(z, y); forward saves G = ∂value/∂z (fused); backward: ∂out/∂z = (∂out/∂value) · G.
class BoundaryAwareFunction : public torch::autograd::Function<BoundaryAwareFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits /* [B, C·K, ...] */,
                            const at::Tensor& target /* [B, ...] */, int64_t bins, int64_t radius, bool hasIgnore,
                            int64_t ignoreIndex) {
    BoundaryAwareOptions options;
    options.bins = static_cast<int>(bins);
    options.radius = static_cast<int>(radius);
    ValueAndGrad result = boundaryAwareForward(logits, target, options, hasIgnore ? std::optional<int64_t>(ignoreIndex) : std::nullopt, true);
    ctx->saved_data["grad"] = result.grad;
    return result.value;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list upstream) {
    auto saved = ctx->saved_data.find("grad");
    if (saved == ctx->saved_data.end()) throw LossArgumentError("segloss's boundary-aware loss is differentiable once: its backward already ran");
    at::Tensor grad = saved->second.toTensor();
    ctx->saved_data.erase("grad");
    return {grad * upstream[0].to(grad.scalar_type()), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

struct FeatureGrads {
  at::Tensor value, logits, features, weight, bias;  // bias undefined when there is none
};

FeatureGrads conditionalBoundaryForward(const at::Tensor& logitsIn, const at::Tensor& targetIn, const at::Tensor& featuresIn,
                                        const at::Tensor& weightIn, const at::Tensor& biasIn,
                                        const ConditionalBoundaryOptions& options, std::optional<int64_t> ignoreIndex,
                                        bool withGrad) {
  checkSpatialMatch(logitsIn, targetIn);
  if (logitsIn.dim() != 4) throw LossArgumentError("conditional-boundary takes logits [B, C, H, W], got " + sizesText(logitsIn));
  const auto type = logitsIn.scalar_type();
  scalarTypeOf(logitsIn);
  const int64_t B = logitsIn.size(0), C = logitsIn.size(1), H = logitsIn.size(2), W = logitsIn.size(3);
  if (!featuresIn.defined() || featuresIn.dim() != 4 || featuresIn.size(0) != B || featuresIn.size(2) != H || featuresIn.size(3) != W) {
    throw LossArgumentError("features " + (featuresIn.defined() ? sizesText(featuresIn) : std::string("(undefined)")) +
                            " do not match logits " + sizesText(logitsIn) + " (expected [B, D, H, W])");
  }
  const int64_t D = featuresIn.size(1);
  if (!weightIn.defined() || weightIn.numel() != C * D || weightIn.size(0) != C) {
    throw LossArgumentError("classifierWeight " + (weightIn.defined() ? sizesText(weightIn) : std::string("(undefined)")) +
                            " is not [C, D] = [" + std::to_string(C) + ", " + std::to_string(D) + "]");
  }
  if (biasIn.defined() && biasIn.numel() != C) throw LossArgumentError("classifierBias " + sizesText(biasIn) + " is not [C]");
  for (const at::Tensor* t : {&featuresIn, &weightIn}) {
    if (t->scalar_type() != type) throw LossArgumentError("features and the classifier must have the logits' dtype");
  }
  if (biasIn.defined() && biasIn.scalar_type() != type) throw LossArgumentError("classifierBias must have the logits' dtype");
  const auto host = [](const at::Tensor& t) { return t.detach().to(at::kCPU).contiguous(); };
  const at::Tensor logits = host(logitsIn), features = host(featuresIn), weight = host(weightIn).reshape({C, D});
  const at::Tensor bias = biasIn.defined() ? host(biasIn).reshape({C}) : at::Tensor();
  const at::Tensor target = targetIn.detach().to(at::kCPU).to(at::kLong).contiguous();
  ConditionalBoundaryInput input;
  input.tensors = hostTensors(logits, target, H * W, ignoreIndex);
  input.height = H;
  input.width = W;
  input.features = features.data_ptr();
  input.featureChannels = D;
  input.classifierWeight = weight.data_ptr();
  input.classifierBias = bias.defined() ? bias.data_ptr() : nullptr;
  FeatureGrads out;
  ConditionalBoundaryGrads grads;
  if (withGrad) {
    out.features = at::empty_like(features);
    out.weight = at::empty_like(weight);
    out.bias = at::empty({C}, weight.options());
    grads.features = out.features.data_ptr();
    grads.classifierWeight = out.weight.data_ptr();
    grads.classifierBias = out.bias.data_ptr();
  }
  const double value = conditionalBoundaryLossCpu(input, options, withGrad ? &grads : nullptr);
  out.value = at::scalar_tensor(value, logits.options()).to(logitsIn.device());
  if (withGrad) {
    out.logits = at::zeros_like(logitsIn);
    out.features = out.features.to(featuresIn.device());
    out.weight = out.weight.reshape(weightIn.sizes()).to(weightIn.device());
    out.bias = biasIn.defined() ? out.bias.reshape(biasIn.sizes()).to(biasIn.device()) : at::Tensor();
  }
  return out;
}

// value = L(f, W, b; argmax z, y); forward saves the fused gradients; backward scales them.
class ConditionalBoundaryFunction : public torch::autograd::Function<ConditionalBoundaryFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& target,
                            const at::Tensor& features, const at::Tensor& weight, const at::Tensor& bias,
                            const ConditionalBoundaryOptions& options, bool hasIgnore, int64_t ignoreIndex) {
    FeatureGrads result = conditionalBoundaryForward(logits, target, features, weight, bias, options,
                                                     hasIgnore ? std::optional<int64_t>(ignoreIndex) : std::nullopt, true);
    ctx->saved_data["logits"] = result.logits;
    ctx->saved_data["features"] = result.features;
    ctx->saved_data["weight"] = result.weight;
    ctx->saved_data["bias"] = result.bias;
    return result.value;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list upstream) {
    if (ctx->saved_data.find("features") == ctx->saved_data.end()) {
      throw LossArgumentError("segloss's conditional-boundary loss is differentiable once: its backward already ran");
    }
    const auto take = [&](const char* name) {
      at::Tensor t = ctx->saved_data[name].toTensor();
      ctx->saved_data.erase(name);
      return t.defined() ? t * upstream[0].to(t.scalar_type()) : t;
    };
    at::Tensor logits = take("logits"), features = take("features"), weight = take("weight"), bias = take("bias");
    return {logits, at::Tensor(), features, weight, bias, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

ValueAndGrad inverseFormForward(const at::Tensor& logitsIn, const at::Tensor& targetIn, const std::vector<float>& network,
                                const InverseFormOptions& options, std::optional<int64_t> ignoreIndex, bool withGrad) {
  checkSpatialMatch(logitsIn, targetIn);
  if (logitsIn.dim() != 4) throw LossArgumentError("inverseform takes logits [B, C + 1, H, W], got " + sizesText(logitsIn));
  if (network.size() != InverseFormNet::kParameterCount) throw LossArgumentError("inverseform: the network has the wrong parameter count");
  scalarTypeOf(logitsIn);
  const at::Tensor logits = logitsIn.detach().to(at::kCPU).contiguous();
  const at::Tensor target = targetIn.detach().to(at::kCPU).to(at::kLong).contiguous();
  InverseFormInput input;
  input.tensors = hostTensors(logits, target, logits.size(2) * logits.size(3), ignoreIndex);
  input.height = logits.size(2);
  input.width = logits.size(3);
  input.network = network.data();
  return valueAndGradOnHost(logits, logitsIn.device(), withGrad,
                            [&](const LossGradient* grad) { return inverseFormLossCpu(input, options, grad); });
}

class InverseFormFunction : public torch::autograd::Function<InverseFormFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& target,
                            const std::vector<float>& network, const InverseFormOptions& options, bool hasIgnore,
                            int64_t ignoreIndex) {
    ValueAndGrad result = inverseFormForward(logits, target, network, options,
                                             hasIgnore ? std::optional<int64_t>(ignoreIndex) : std::nullopt, true);
    ctx->saved_data["grad"] = result.grad;
    return result.value;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list upstream) {
    auto saved = ctx->saved_data.find("grad");
    if (saved == ctx->saved_data.end()) throw LossArgumentError("segloss's inverseform loss is differentiable once: its backward already ran");
    at::Tensor grad = saved->second.toTensor();
    ctx->saved_data.erase("grad");
    return {grad * upstream[0].to(grad.scalar_type()), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor inverseFormLoss(const at::Tensor& logits, const at::Tensor& target, const std::vector<float>& network,
                           const InverseFormOptions& options, std::optional<int64_t> ignoreIndex) {
  if (const char* problem = options.invalid()) throw LossArgumentError(std::string("inverseform: ") + problem);
  if (at::GradMode::is_enabled() && logits.requires_grad()) {
    return InverseFormFunction::apply(logits, target, network, options, ignoreIndex.has_value(), ignoreIndex.value_or(-100));
  }
  return inverseFormForward(logits, target, network, options, ignoreIndex, false).value;
}

at::Tensor conditionalBoundaryLoss(const at::Tensor& logits, const at::Tensor& target, const at::Tensor& features,
                                   const at::Tensor& classifierWeight, const at::Tensor& classifierBias,
                                   const ConditionalBoundaryOptions& options, std::optional<int64_t> ignoreIndex) {
  if (const char* problem = options.invalid()) throw LossArgumentError(std::string("conditional-boundary: ") + problem);
  const bool needsGrad = at::GradMode::is_enabled() &&
                         (logits.requires_grad() || features.requires_grad() || classifierWeight.requires_grad() ||
                          (classifierBias.defined() && classifierBias.requires_grad()));
  if (needsGrad) {
    return ConditionalBoundaryFunction::apply(logits, target, features, classifierWeight, classifierBias, options,
                                              ignoreIndex.has_value(), ignoreIndex.value_or(-100));
  }
  return conditionalBoundaryForward(logits, target, features, classifierWeight, classifierBias, options, ignoreIndex, false).value;
}

at::Tensor boundaryAwareLoss(const at::Tensor& logits, const at::Tensor& target, const BoundaryAwareOptions& options,
                             std::optional<int64_t> ignoreIndex) {
  if (const char* problem = options.invalid()) throw LossArgumentError(std::string("boundary-aware: ") + problem);
  if (at::GradMode::is_enabled() && logits.requires_grad()) {
    return BoundaryAwareFunction::apply(logits, target, int64_t(options.bins), int64_t(options.radius), ignoreIndex.has_value(),
                                        ignoreIndex.value_or(-100));
  }
  return boundaryAwareForward(logits, target, options, ignoreIndex, false).value;
}

at::Tensor decodeBoundaryAware(const at::Tensor& logitsIn, const BoundaryAwareOptions& options) {
  if (const char* problem = options.invalid()) throw LossArgumentError(std::string("boundary-aware: ") + problem);
  if (!logitsIn.defined() || (logitsIn.dim() != 4 && logitsIn.dim() != 5)) {
    throw LossArgumentError("decodeBoundaryAware takes logits [B, C·K, H, W] or [B, C·K, D, H, W]");
  }
  if (logitsIn.size(1) % options.bins != 0) {
    throw LossArgumentError("decodeBoundaryAware: " + std::to_string(logitsIn.size(1)) + " channels are not a multiple of bins " +
                            std::to_string(options.bins));
  }
  const at::Tensor logits = logitsIn.detach().to(at::kCPU).contiguous();
  LossTensors tensors;
  tensors.logits = logits.data_ptr();
  tensors.dtype = scalarTypeOf(logits);
  tensors.batch = logits.size(0);
  tensors.channels = logits.size(1);
  const geometry::GridShape grid = gridOf(logits);
  tensors.pixels = grid.voxels();
  std::vector<int64_t> sizes{logits.size(0)};
  for (int64_t d = 2; d < logits.dim(); ++d) sizes.push_back(logits.size(d));
  at::Tensor labels = at::empty(sizes, at::kInt);
  decodeBoundaryAwareCpu(tensors, grid, options, labels.data_ptr<int32_t>());
  return labels.to(at::kLong).to(logitsIn.device());
}

}  // namespace segloss::torch_ops
