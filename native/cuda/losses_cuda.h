// The CUDA engines' entry point: the same losses and functors as the CPU engines
// (native/core/losses.h), over device pointers, on a caller-given stream. Plain CUDA runtime
// (no libtorch headers), so every .cu here compiles with nvcc alone.
#pragma once

#include <cstddef>

#include "../core/losses.h"

namespace segloss {

// Bytes of device workspace computeLossCuda needs for this request (region sums and the like).
size_t lossWorkspaceBytesCuda(const LossTensors& tensors, const LossFunctor& functor);

// Runs the loss functor (makeLossFunctor with a context that binds arrays to device copies) on the
// CUDA engine of its family, enqueued on `stream` (a cudaStream_t). tensors.logits /
// tensors.target / grad->data, and every array pointer inside the functor, are device pointers; labels must already be valid (callers check them). The value is written
// to *deviceValue (one device double); workspace holds lossWorkspaceBytesCuda(...) device bytes.
// Throws LossArgumentError for violated invariants, std::runtime_error for CUDA errors.
void computeLossCuda(const LossTensors& tensors, const LossFunctor& functor, const LossGradient* grad,
                     double* deviceValue, void* workspace, void* stream);

}  // namespace segloss
