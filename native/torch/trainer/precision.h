// Precision and memory layout of a training step: bf16 autocast of the forward pass (the losses
// stay float32, as the issue asks: logits are cast back before the objective) and channels-last
// parameters and inputs. Both run on the CPU as on CUDA; autocast needs libtorch ≥ 2.4 (its
// per-device API).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

namespace segloss::trainer {

enum class Precision { Float32, BFloat16 };

/// While alive, runs ops on `device` under autocast to bfloat16 (Float32: does nothing); restores
/// the previous autocast state of this thread and clears the cast cache when it ends.
class AutocastScope {
 public:
  AutocastScope(Precision precision, at::DeviceType device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  at::DeviceType device_;
  bool previousEnabled_ = false;
  at::ScalarType previousType_ = at::kFloat;
};

/// Whether this libtorch has the autocast API used here (≥ 2.4).
bool autocastSupported();

/// Makes every 4-d parameter and buffer of the module channels-last (NHWC strides, same values).
void toChannelsLast(torch::nn::Module& module);

}  // namespace segloss::trainer
