// How torch_ops messages write a tensor's sizes: "[2, 3, 64, 64]".
#pragma once

#include <string>

#include <ATen/ATen.h>

namespace segloss::torch_ops {

inline std::string sizesText(const at::Tensor& t) {
  std::string text = "[";
  for (int64_t d = 0; d < t.dim(); ++d) text += (d ? ", " : "") + std::to_string(t.size(d));
  return text + "]";
}

}  // namespace segloss::torch_ops
