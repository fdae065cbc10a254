// The losses on libtorch tensors, differentiable: one autograd Function (FusedLossFunction) runs an
// objective — one loss, or a weighted sum of losses — through the core engines (CPU, or CUDA when
// built with it) and gets the value and the fused gradient d value / d logits in one forward pass.
// Its backward only scales the saved gradient. Usable from native training code:
//
//   segloss::torch_ops::Objective objective;                     // 0.5·Dice + 0.5·CE
//   objective.terms.push_back(segloss::weightedTerm(segloss::DiceOptions{}, 0.5));
//   objective.terms.push_back(segloss::weightedTerm(segloss::CrossEntropyOptions{}, 0.5));
//   at::Tensor value = segloss::torch_ops::loss(logits, target, objective);  // 0-dim, logits' dtype
//   value.backward();                                     // logits.grad() = d value / d logits
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/ATen.h>

#include "../core/loss_term.h"

namespace segloss::torch_ops {

// value = Σ_t weight_t · loss_t(logits, target).
struct Objective {
  std::vector<LossTerm> terms;  // at least one
  // Optional learned state: a 0-dim floating tensor θ shared by the objective's robust-t terms. When
  // defined it replaces their `nuParameter` option, and loss() makes it an autograd input, so that
  // backward() gives θ.grad() = d value / d θ (the trainer optimises it).
  at::Tensor nuParameter;
};

// The value and, when asked for, d value / d logits.
struct FusedResult {
  at::Tensor value;  // [] logits' dtype, on the logits' device
  at::Tensor grad;   // [B, C, ...] like the (contiguous) logits, or undefined
  double gradNuParameter = 0.0;  // d value / d θ of the robust-t terms (with withGrad), else 0
};

// Runs the objective on the engine of the logits' device, without autograd.
//   logits: [B, C, ...] float32 or float64 (CPU, or CUDA when built with it)
//   target: [B, ...] integer labels in [0, K) or ignoreIndex, same device (any integer dtype)
// Throws LossArgumentError for mismatched shapes, dtypes or devices, labels outside [0, K) (naming
// the first flat index), or class weights of the wrong length.
FusedResult computeFused(const at::Tensor& logits, const at::Tensor& target, const Objective& objective,
                         bool withGrad);

// The objective as a differentiable function of the logits: a 0-dim tensor (logits' dtype) that
// carries FusedLossFunction as its grad_fn when grad mode is on and the logits require grad.
// Differentiable once: the backward is not itself differentiable, and it runs once per forward
// (it hands its saved gradient to autograd without a copy; a second backward through the same
// graph, as retain_graph would allow, throws LossArgumentError). Throws as computeFused.
at::Tensor loss(const at::Tensor& logits /* [B, C, ...] */, const at::Tensor& target /* [B, ...] */,
                const Objective& objective);

// One loss with weight 1 (array options such as classWeights live in `options`).
at::Tensor loss(const at::Tensor& logits /* [B, C, ...] */, const at::Tensor& target /* [B, ...] */,
                const LossOptions& options, Activation activation = Activation::Softmax,
                std::optional<int64_t> ignoreIndex = std::nullopt);

// Whether this build runs the CUDA engines (SEGLOSS_WITH_CUDA).
bool builtWithCuda();

}  // namespace segloss::torch_ops
