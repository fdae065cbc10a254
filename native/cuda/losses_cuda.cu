// CUDA implementation of native/cuda/losses_cuda.h: the same dispatch as the CPU entry point
// (native/core/dispatch.h), choosing the CUDA engine of the functor's family.
#include "losses_cuda.h"

#include <string>
#include <type_traits>
#include <variant>

#include "../core/dispatch.h"
#include "pixel_engine_cuda.cuh"
#include "region_engine_cuda.cuh"

namespace segloss {

namespace {

// Same invariants as the CPU entry point, plus the device buffers this entry point needs.
void checkCudaRequest(const LossTensors& t, const LossGradient* grad, const double* deviceValue,
                      const void* workspace) {
  if (t.batch <= 0 || t.channels <= 0 || t.pixels <= 0) {
    throw LossArgumentError("batch, channels and pixels must be positive");
  }
  if (!t.logits || !t.target) throw LossArgumentError("logits and target must not be null");
  if (grad && !grad->data) throw LossArgumentError("gradient data must not be null");
  if (!deviceValue) throw LossArgumentError("the device value pointer must not be null");
  if (!workspace) throw LossArgumentError("the CUDA workspace must not be null");
}

template <class Loss>
size_t workspaceBytesFor(const LossTensors& t) {
  if constexpr (needsHostMaps<Loss>()) {
    return 0;  // runs on the CPU engine (native/torch/fused_loss.cpp)
  } else if constexpr (Loss::kFamily == LossFamily::Pixel) {
    return cuda::PixelWorkspace::kBytes;
  } else if constexpr (Loss::kFamily == LossFamily::Region) {
    return cuda::RegionWorkspace::bytes(t.batch, probabilityClasses(t.channels), Loss::kStats);
  } else {
    return 0;  // CPU engine only (cpuOnlyLoss): computeLossCuda refuses it
  }
}

}  // namespace

size_t lossWorkspaceBytesCuda(const LossTensors& tensors, const LossFunctor& functor) {
  return std::visit([&](const auto& loss) { return workspaceBytesFor<std::decay_t<decltype(loss)>>(tensors); },
                    functor);
}

void computeLossCuda(const LossTensors& tensors, const LossFunctor& functor, const LossGradient* grad,
                     double* deviceValue, void* workspace, void* stream) {
  checkCudaRequest(tensors, grad, deviceValue, workspace);
  const cuda::Stream cudaStream = static_cast<cuda::Stream>(stream);
  dispatchLoss(tensors, functor, grad, [&](const auto& in, auto* target, auto activation, const auto& loss) {
    using Loss = std::decay_t<decltype(loss)>;
    [[maybe_unused]] constexpr PixelActivationKind A = decltype(activation)::value;
    if constexpr (needsHostMaps<Loss>()) {
      throw LossArgumentError(std::string(Loss::kId) + " computes its distance maps on the CPU: run it on CPU tensors");
    } else if constexpr (Loss::kFamily == LossFamily::Pixel) {
      cuda::runPixelEngineCuda<A>(in, loss, target, deviceValue, workspace, cudaStream);
    } else if constexpr (Loss::kFamily == LossFamily::Region) {
      cuda::runRegionEngineCuda<A>(in, loss, target, deviceValue, workspace, cudaStream);
    } else {
      throw LossArgumentError(std::string(Loss::kId) + " has no CUDA engine (the torch op runs it on the CPU engine)");
    }
  });
}

}  // namespace segloss
