// The trainer's optimizers and learning-rate schedule, written with ATen ops so that their state
// is plain tensors (checkpointed in PyTorch's `optimizer.state_dict()` layout) and their update is
// exactly PyTorch's single-tensor algorithm:
//   SGD   (torch.optim.SGD, dampening 0):  d = g + λ·p;  b = d (first step) | μ·b + d;
//         d = nesterov ? d + μ·b : b;  p −= lr·d
//   AdamW (torch.optim.AdamW):  p ·= 1 − lr·λ;  m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;
//         p −= lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
// Poly schedule (TransUNet): lr_t = lr · (1 − t / T)^power for the step t = 0, 1, ... of T.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>

namespace segloss::trainer {

/// torch.optim.SGD's options (dampening 0).
struct SgdOptions {
  double lr = 0.01;           // base learning rate
  double momentum = 0.9;      // μ
  double weightDecay = 1e-4;  // λ (L2, added to the gradient)
  bool nesterov = false;
};

/// torch.optim.AdamW's options (amsgrad off).
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 1e-2;  // decoupled
};

using OptimizerOptions = std::variant<SgdOptions, AdamWOptions>;

/// How the learning rate moves over the steps.
struct ScheduleOptions {
  enum class Kind { Constant, Poly };
  Kind kind = Kind::Poly;
  double power = 0.9;      // poly exponent
  int64_t totalSteps = 0;  // T; 0: epochs × steps per epoch of the fit call
};

/// lr at step `step` (0-based) of `totalSteps` (clamped so the factor stays in [0, 1]).
double scheduledLr(double baseLr, const ScheduleOptions& schedule, int64_t step, int64_t totalSteps);

/// One optimizer over a fixed list of parameters (one parameter group).
class Optimizer {
 public:
  Optimizer(OptimizerOptions options, std::vector<at::Tensor> parameters);

  /// Applies one update with learning rate `lr` to every parameter that has a gradient.
  void step(double lr);
  /// Sets every parameter's gradient to undefined (PyTorch's zero_grad(set_to_none=True)).
  void zeroGrad();
  double baseLr() const;

  /// PyTorch's layout: {'state': {i: {'momentum_buffer'} | {'step', 'exp_avg', 'exp_avg_sq'}},
  /// 'param_groups': [{'lr', ..., 'params': [0, ..., n − 1]}]} with CPU tensors.
  c10::IValue stateDict(double currentLr) const;
  /// Restores the state written by stateDict (tensors moved to each parameter's device). Throws
  /// std::invalid_argument when it does not fit (other optimizer, parameter count or shapes).
  void loadStateDict(const c10::IValue& state);

 private:
  void sgdStep(const SgdOptions& o, double lr);
  void adamwStep(const AdamWOptions& o, double lr);

  OptimizerOptions options_;
  std::vector<at::Tensor> parameters_;
  std::vector<at::Tensor> first_;   // SGD momentum buffers / AdamW exp_avg (undefined before the first step)
  std::vector<at::Tensor> second_;  // AdamW exp_avg_sq
  std::vector<int64_t> steps_;      // AdamW per-parameter step counts
};

}  // namespace segloss::trainer
