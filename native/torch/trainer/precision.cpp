// Autocast scope and channels-last conversion (precision.h).
#include "precision.h"

#include <stdexcept>

#include <ATen/core/grad_mode.h>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SEGLOSS_HAS_DEVICE_AUTOCAST 1
#include <ATen/autocast_mode.h>
#endif

namespace segloss::trainer {

bool autocastSupported() {
#ifdef SEGLOSS_HAS_DEVICE_AUTOCAST
  return true;
#else
  return false;
#endif
}

AutocastScope::AutocastScope(Precision precision, at::DeviceType device) : device_(device) {
  if (precision == Precision::Float32) return;
#ifdef SEGLOSS_HAS_DEVICE_AUTOCAST
  previousEnabled_ = at::autocast::is_autocast_enabled(device_);
  previousType_ = at::autocast::get_autocast_dtype(device_);
  at::autocast::set_autocast_dtype(device_, at::kBFloat16);
  at::autocast::set_autocast_enabled(device_, true);
  active_ = true;
#else
  throw std::invalid_argument("bfloat16 autocast needs libtorch ≥ 2.4");
#endif
}

AutocastScope::~AutocastScope() {
#ifdef SEGLOSS_HAS_DEVICE_AUTOCAST
  if (!active_) return;
  at::autocast::set_autocast_enabled(device_, previousEnabled_);
  at::autocast::set_autocast_dtype(device_, previousType_);
  at::autocast::clear_cache();
#endif
}

void toChannelsLast(torch::nn::Module& module) {
  const at::NoGradGuard noGrad;
  for (at::Tensor& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
  for (at::Tensor& b : module.buffers()) {
    if (b.dim() == 4) b.set_data(b.contiguous(at::MemoryFormat::ChannelsLast));
  }
}

}  // namespace segloss::trainer
