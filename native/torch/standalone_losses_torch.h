// The standalone losses (native/core/standalone) on libtorch tensors, differentiable: each is an autograd
// Function whose forward runs the core's CPU entry point and gets the value and the fused gradient
// in one pass; its backward scales the saved gradient. CUDA tensors run on the CPU path: they are
// copied to the host, and the gradient is copied back to their device (documented in docs/engine.md).
//
//   at::Tensor value = segloss::torch_ops::boundaryAwareLoss(logits, target, segloss::BoundaryAwareOptions{});
//   value.backward();   // logits.grad() = d value / d logits
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/ATen.h>

#include "../core/standalone/boundary_aware.h"
#include "../core/standalone/conditional_boundary.h"
#include "../core/standalone/inverse_form.h"

namespace segloss::torch_ops {

// boundary-aware: logits [B, C·K, H, W] or [B, C·K, D, H, W] float32 / float64 (any device),
// target [B, ...spatial] integer labels in [0, C) or ignoreIndex. A 0-dim tensor of the logits'
// dtype on their device; differentiable once with respect to the logits. Throws LossArgumentError
// for shapes that do not match, channels that are not C·K, bad labels or non-finite logits.
at::Tensor boundaryAwareLoss(const at::Tensor& logits, const at::Tensor& target, const BoundaryAwareOptions& options,
                             std::optional<int64_t> ignoreIndex = std::nullopt);

// boundary-aware's decoder (decodeBoundaryAwareCpu) on tensors: bin logits [B, C·K, H, W] (or
// [B, C·K, D, H, W]) float32 / float64, any device (CPU path) → the label map [B, ...spatial]
// int64 on the logits' device. Not differentiable. Throws LossArgumentError when the channels are
// not a multiple of K.
at::Tensor decodeBoundaryAware(const at::Tensor& logits, const BoundaryAwareOptions& options);

// conditional-boundary: logits [B, C, H, W] (only their argmax is read), target [B, H, W],
// features [B, D, H, W], classifierWeight [C, D] (or [C, D, 1, 1], a 1×1 conv's weight),
// classifierBias [C] or undefined; floating tensors of the logits' dtype, any device (CPU path).
// A 0-dim tensor; differentiable once with respect to the features, the classifier weight and
// bias (the logits' gradient is 0). Throws LossArgumentError for shapes that do not match.
at::Tensor conditionalBoundaryLoss(const at::Tensor& logits, const at::Tensor& target, const at::Tensor& features,
                                   const at::Tensor& classifierWeight, const at::Tensor& classifierBias,
                                   const ConditionalBoundaryOptions& options, std::optional<int64_t> ignoreIndex = std::nullopt);

// inverseform: logits [B, C + 1, H, W] float32 / float64 (any device; CPU path), target [B, H, W];
// `network` the inverse-transformation network's parameters (InverseFormNet::kParameterCount
// floats). A 0-dim tensor, differentiable once with respect to the logits.
at::Tensor inverseFormLoss(const at::Tensor& logits, const at::Tensor& target, const std::vector<float>& network,
                           const InverseFormOptions& options, std::optional<int64_t> ignoreIndex = std::nullopt);

}  // namespace segloss::torch_ops
