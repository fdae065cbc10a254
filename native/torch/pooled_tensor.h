// Host tensors on blocks of the core's batch-buffer pool (native/core/batch_buffer.h), for the
// gradients the torch ops return: a block goes back to the pool when its tensor is freed, so the
// calls of a training loop reuse the same pages. With at::empty each call's gradient is fresh pages
// (80 MB at 4×19×512² float32), whose page faults and kernel zeroing cost about as much as the
// fused loss itself (bench/cpu-engine.js, "torch op").
#pragma once

#include <ATen/ATen.h>

#include "../core/batch_buffer.h"

namespace segloss::torch_ops {

// An uninitialised contiguous CPU tensor with like's sizes and dtype on a pool block.
inline at::Tensor pooledEmptyLike(const at::Tensor& like) {
  const size_t bytes = static_cast<size_t>(like.numel()) * like.element_size();
  BatchBuffer block = batchBuffer(bytes, BufferFill::Overwritten);
  const size_t size = block.get_deleter().bytes;
  at::Tensor tensor = at::from_blob(
      block.get(), like.sizes(), [size](void* p) { PooledDeleter{size}(static_cast<unsigned char*>(p)); },
      at::TensorOptions().dtype(like.scalar_type()).device(at::kCPU));
  block.release();  // the tensor owns the block now
  return tensor;
}

// The gradient array of a loss on `logits`: a pool block on the CPU, at::empty_like elsewhere.
inline at::Tensor gradientLike(const at::Tensor& logits) {
  if (logits.device().is_cpu()) return pooledEmptyLike(logits);
  return at::empty_like(logits, at::MemoryFormat::Contiguous);
}

}  // namespace segloss::torch_ops
