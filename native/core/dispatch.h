// Runtime enums → compile-time parameters, in one place (host code of the CUDA engines and the
// core's label checks; the CPU kernels dispatch in tile_kernels_cpu.h).
#pragma once

#include <cstdint>
#include <type_traits>

#include "activation.h"
#include "loss_batch.h"
#include "losses.h"

namespace segloss {

template <class F>
decltype(auto) dispatchScalar(ScalarType type, F&& f) {
  if (type == ScalarType::Float64) return f(double{});
  return f(float{});
}

template <class F>
decltype(auto) dispatchLabel(LabelType type, F&& f) {
  switch (type) {
    case LabelType::UInt8: return f(uint8_t{});
    case LabelType::UInt16: return f(uint16_t{});
    case LabelType::Int64: return f(int64_t{});
    default: return f(int32_t{});
  }
}

template <PixelActivationKind A>
using ActivationTag = std::integral_constant<PixelActivationKind, A>;

template <class F>
decltype(auto) dispatchActivation(PixelActivationKind kind, F&& f) {
  switch (kind) {
    case PixelActivationKind::Sigmoid: return f(ActivationTag<PixelActivationKind::Sigmoid>{});
    case PixelActivationKind::None: return f(ActivationTag<PixelActivationKind::None>{});
    case PixelActivationKind::BinarySigmoid: return f(ActivationTag<PixelActivationKind::BinarySigmoid>{});
    case PixelActivationKind::BinaryNone: return f(ActivationTag<PixelActivationKind::BinaryNone>{});
    default: return f(ActivationTag<PixelActivationKind::Softmax>{});
  }
}

template <typename T, typename L>
LossBatch<T, L> makeLossBatch(const LossTensors& t) {
  LossBatch<T, L> in;
  in.logits = static_cast<const T*>(t.logits);
  in.target = static_cast<const L*>(t.target);
  in.batch = t.batch;
  in.channels = t.channels;
  in.pixels = t.pixels;
  in.hasIgnore = t.hasIgnore;
  in.ignoreIndex = t.ignoreIndex;
  return in;
}

// Calls f(LossBatch<T, L>, GradTarget<T>*, ActivationTag<A>) with the dtype, the label type and
// the activation of the request resolved to types.
template <class F>
decltype(auto) dispatchBatch(const LossTensors& t, const LossGradient* grad, F&& f) {
  const PixelActivationKind kind = resolveActivation(t.activation, t.channels);
  return dispatchScalar(t.dtype, [&](auto scalar) {
    using T = decltype(scalar);
    return dispatchLabel(t.labelType, [&](auto label) {
      using L = decltype(label);
      const LossBatch<T, L> in = makeLossBatch<T, L>(t);
      GradTarget<T> target;
      if (grad) target = GradTarget<T>{static_cast<T*>(grad->data), static_cast<T>(grad->scale), grad->accumulate};
      GradTarget<T>* targetPtr = grad ? &target : nullptr;
      return dispatchActivation(kind, [&](auto activation) { return f(in, targetPtr, activation); });
    });
  });
}

// Same, plus the loss functor: f(LossBatch<T, L>, GradTarget<T>*, ActivationTag<A>, functor).
template <class F>
decltype(auto) dispatchLoss(const LossTensors& t, const LossFunctor& functor, const LossGradient* grad, F&& f) {
  return dispatchBatch(t, grad, [&](const auto& in, auto* target, auto activation) {
    return std::visit([&](const auto& loss) { return f(in, target, activation, loss); }, functor);
  });
}

}  // namespace segloss
