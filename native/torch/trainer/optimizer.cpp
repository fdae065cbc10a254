// SGD, AdamW and the poly schedule (optimizer.h).
#include "optimizer.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include <ATen/core/Dict.h>
#include <ATen/core/List.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

namespace segloss::trainer {

double scheduledLr(double baseLr, const ScheduleOptions& schedule, int64_t step, int64_t totalSteps) {
  if (schedule.kind == ScheduleOptions::Kind::Constant || totalSteps <= 0) return baseLr;
  const double progress = std::min(1.0, std::max(0.0, static_cast<double>(step) / static_cast<double>(totalSteps)));
  return baseLr * std::pow(1.0 - progress, schedule.power);
}

Optimizer::Optimizer(OptimizerOptions options, std::vector<at::Tensor> parameters)
    : options_(std::move(options)),
      parameters_(std::move(parameters)),
      first_(parameters_.size()),
      second_(parameters_.size()),
      steps_(parameters_.size(), 0) {}

double Optimizer::baseLr() const {
  return std::visit([](const auto& o) { return o.lr; }, options_);
}

void Optimizer::zeroGrad() {
  for (at::Tensor& p : parameters_) p.mutable_grad().reset();
}

void Optimizer::step(double lr) {
  const at::NoGradGuard noGrad;
  if (const auto* sgd = std::get_if<SgdOptions>(&options_)) {
    sgdStep(*sgd, lr);
  } else {
    adamwStep(std::get<AdamWOptions>(options_), lr);
  }
}

namespace {

// Whether the fused SGD loop can run over a parameter's storage: float32 on the CPU, dense, and its
// gradient (and momentum buffer, when there is one) laid out as the parameter is, so that one
// index walks all of them.
bool fusedSgdApplies(const at::Tensor& p, const at::Tensor& g, const at::Tensor& buffer) {
  const auto sameLayout = [&](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.layout() == at::kStrided && t.sizes() == p.sizes() &&
           t.strides() == p.strides() && t.storage_offset() >= 0;
  };
  if (!(sameLayout(p) && p.is_non_overlapping_and_dense() && sameLayout(g))) return false;
  return !buffer.defined() || sameLayout(buffer);
}

// One SGD step over a parameter in one pass (the unfused step makes five over it: d = g + λp, the
// buffer's scaling and addition, the parameter's update; 420 MB each for TransUNet b16), split over
// ATen's threads: d = g + λp; b = μb + d (b = d on the first step); p −= lr·(nesterov ? d + μb : b).
// Momentum 0: p −= lr·d, no buffer.
void fusedSgdCpu(at::Tensor& p, const at::Tensor& g, at::Tensor& buffer, bool firstStep, const SgdOptions& o, double lr) {
  float* __restrict pw = p.data_ptr<float>();
  const float* __restrict gw = g.data_ptr<float>();
  float* __restrict bw = buffer.defined() ? buffer.data_ptr<float>() : nullptr;
  const float decay = static_cast<float>(o.weightDecay), momentum = static_cast<float>(o.momentum);
  const float rate = static_cast<float>(-lr);
  const bool nesterov = o.nesterov;
  at::parallel_for(0, p.numel(), int64_t(1) << 16, [&](int64_t begin, int64_t end) {
    if (bw == nullptr) {
      for (int64_t i = begin; i < end; ++i) pw[i] += rate * (gw[i] + decay * pw[i]);
      return;
    }
    for (int64_t i = begin; i < end; ++i) {
      const float d = gw[i] + decay * pw[i];
      const float b = firstStep ? d : momentum * bw[i] + d;
      bw[i] = b;
      pw[i] += rate * (nesterov ? d + momentum * b : b);
    }
  });
}

}  // namespace

void Optimizer::sgdStep(const SgdOptions& o, double lr) {
  for (size_t i = 0; i < parameters_.size(); ++i) {
    at::Tensor& p = parameters_[i];
    if (!p.grad().defined()) continue;
    if (fusedSgdApplies(p, p.grad(), first_[i])) {
      const bool firstStep = o.momentum != 0.0 && !first_[i].defined();
      if (firstStep) first_[i] = at::empty_like(p, at::MemoryFormat::Preserve);
      fusedSgdCpu(p, p.grad(), first_[i], firstStep, o, lr);
      continue;
    }
    at::Tensor d = p.grad();
    if (o.weightDecay != 0.0) d = d.add(p, o.weightDecay);
    if (o.momentum != 0.0) {
      at::Tensor& buffer = first_[i];
      if (!buffer.defined()) {
        buffer = d.clone().detach();
      } else {
        buffer.mul_(o.momentum).add_(d);
      }
      d = o.nesterov ? d.add(buffer, o.momentum) : buffer;
    }
    p.add_(d, -lr);
  }
}

void Optimizer::adamwStep(const AdamWOptions& o, double lr) {
  for (size_t i = 0; i < parameters_.size(); ++i) {
    at::Tensor& p = parameters_[i];
    if (!p.grad().defined()) continue;
    const at::Tensor& g = p.grad();
    if (!first_[i].defined()) {
      first_[i] = at::zeros_like(p, at::MemoryFormat::Preserve);
      second_[i] = at::zeros_like(p, at::MemoryFormat::Preserve);
    }
    const int64_t t = ++steps_[i];
    p.mul_(1.0 - lr * o.weightDecay);
    first_[i].lerp_(g, 1.0 - o.beta1);
    second_[i].mul_(o.beta2).addcmul_(g, g, 1.0 - o.beta2);
    const double correction1 = 1.0 - std::pow(o.beta1, static_cast<double>(t));
    const double correction2Sqrt = std::sqrt(1.0 - std::pow(o.beta2, static_cast<double>(t)));
    const at::Tensor denominator = (second_[i].sqrt() / correction2Sqrt).add_(o.eps);
    p.addcdiv_(first_[i], denominator, -lr / correction1);
  }
}

namespace {

c10::impl::GenericDict stringDict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

// A generic list (a typed List<int64_t> would be pickled as torch.jit._pickle.build_intlist,
// which torch.load(weights_only=True) refuses).
c10::IValue parameterIndices(size_t count) {
  c10::impl::GenericList indices(c10::AnyType::get());
  for (size_t i = 0; i < count; ++i) indices.push_back(static_cast<int64_t>(i));
  return indices;
}

c10::impl::GenericDict sgdGroup(const SgdOptions& o, double lr, size_t count) {
  c10::impl::GenericDict group = stringDict();
  group.insert("lr", lr);
  group.insert("initial_lr", o.lr);
  group.insert("momentum", o.momentum);
  group.insert("dampening", 0.0);
  group.insert("weight_decay", o.weightDecay);
  group.insert("nesterov", o.nesterov);
  group.insert("maximize", false);
  group.insert("foreach", c10::IValue());
  group.insert("differentiable", false);
  group.insert("fused", c10::IValue());
  group.insert("params", parameterIndices(count));
  return group;
}

c10::impl::GenericDict adamwGroup(const AdamWOptions& o, double lr, size_t count) {
  c10::impl::GenericDict group = stringDict();
  group.insert("lr", lr);
  group.insert("initial_lr", o.lr);
  group.insert("betas", c10::ivalue::Tuple::create({o.beta1, o.beta2}));
  group.insert("eps", o.eps);
  group.insert("weight_decay", o.weightDecay);
  group.insert("amsgrad", false);
  group.insert("maximize", false);
  group.insert("foreach", c10::IValue());
  group.insert("capturable", false);
  group.insert("differentiable", false);
  group.insert("fused", c10::IValue());
  group.insert("decoupled_weight_decay", true);
  group.insert("params", parameterIndices(count));
  return group;
}

at::Tensor toCpu(const at::Tensor& t) { return t.detach().to(at::kCPU).clone(); }

c10::IValue required(const c10::impl::GenericDict& dict, const std::string& key) {
  const auto it = dict.find(key);
  if (it == dict.end()) throw std::invalid_argument("optimizer state lacks '" + key + "'");
  return it->value();
}

}  // namespace

c10::IValue Optimizer::stateDict(double currentLr) const {
  const bool sgd = std::holds_alternative<SgdOptions>(options_);
  c10::impl::GenericDict state(c10::IntType::get(), c10::AnyType::get());
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!first_[i].defined()) continue;
    c10::impl::GenericDict entry = stringDict();
    if (sgd) {
      entry.insert("momentum_buffer", toCpu(first_[i]));
    } else {
      entry.insert("step", at::scalar_tensor(static_cast<double>(steps_[i]), at::kFloat));
      entry.insert("exp_avg", toCpu(first_[i]));
      entry.insert("exp_avg_sq", toCpu(second_[i]));
    }
    state.insert(static_cast<int64_t>(i), entry);
  }
  c10::impl::GenericList groups(c10::AnyType::get());
  groups.push_back(sgd ? sgdGroup(std::get<SgdOptions>(options_), currentLr, parameters_.size())
                       : adamwGroup(std::get<AdamWOptions>(options_), currentLr, parameters_.size()));
  c10::impl::GenericDict dict = stringDict();
  dict.insert("state", state);
  dict.insert("param_groups", groups);
  return dict;
}

void Optimizer::loadStateDict(const c10::IValue& value) {
  if (!value.isGenericDict()) throw std::invalid_argument("optimizer state is not a dict");
  const c10::impl::GenericDict dict = value.toGenericDict();
  const c10::IValue groups = required(dict, "param_groups");
  const c10::IValue state = required(dict, "state");
  if (!groups.isList() || groups.toList().size() != 1 || !state.isGenericDict()) {
    throw std::invalid_argument("optimizer state has not one parameter group");
  }
  const c10::impl::GenericDict group = groups.toList().get(0).toGenericDict();
  const bool sgd = std::holds_alternative<SgdOptions>(options_);
  if (group.contains("momentum") != sgd) throw std::invalid_argument("optimizer state belongs to another optimizer");
  const c10::IValue params = required(group, "params");
  if (!params.isList() || params.toList().size() != parameters_.size()) {
    throw std::invalid_argument("optimizer state has another parameter count");
  }
  const auto restore = [&](const c10::impl::GenericDict& entry, const char* key, size_t i) {
    const at::Tensor t = required(entry, key).toTensor();
    if (t.sizes() != parameters_[i].sizes()) throw std::invalid_argument(std::string("optimizer state '") + key + "' has another shape");
    return t.to(parameters_[i].options()).clone();
  };
  for (size_t i = 0; i < parameters_.size(); ++i) {
    first_[i] = at::Tensor();
    second_[i] = at::Tensor();
    steps_[i] = 0;
  }
  for (const auto& item : state.toGenericDict()) {
    const int64_t i = item.key().toInt();
    if (i < 0 || static_cast<size_t>(i) >= parameters_.size()) throw std::invalid_argument("optimizer state index out of range");
    const c10::impl::GenericDict entry = item.value().toGenericDict();
    if (sgd) {
      first_[i] = restore(entry, "momentum_buffer", i);
    } else {
      first_[i] = restore(entry, "exp_avg", i);
      second_[i] = restore(entry, "exp_avg_sq", i);
      steps_[i] = static_cast<int64_t>(std::llround(required(entry, "step").toTensor().item<double>()));
    }
  }
}

}  // namespace segloss::trainer
