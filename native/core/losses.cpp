// CPU implementation of the core entry points (losses.h).
#include "losses.h"

#include <string>

#include "dispatch.h"
#include "pixel_engine_cpu.h"
#include "region_engine_cpu.h"

namespace segloss {

PixelActivationKind resolveActivation(Activation activation, int64_t channels) {
  if (channels == 1) {
    if (activation == Activation::Softmax) {
      throw LossArgumentError("softmax over a single channel is constant; use sigmoid or none for C = 1");
    }
    return activation == Activation::Sigmoid ? PixelActivationKind::BinarySigmoid : PixelActivationKind::BinaryNone;
  }
  switch (activation) {
    case Activation::Sigmoid: return PixelActivationKind::Sigmoid;
    case Activation::None: return PixelActivationKind::None;
    default: return PixelActivationKind::Softmax;
  }
}

int64_t findInvalidLabel(const LossTensors& t) {
  const int64_t classes = probabilityClasses(t.channels);
  return dispatchLabel(t.labelType, [&](auto label) -> int64_t {
    using L = decltype(label);
    const L* target = static_cast<const L*>(t.target);
    const int64_t n = t.batch * t.pixels;
    for (int64_t j = 0; j < n; ++j) {
      const int64_t v = static_cast<int64_t>(target[j]);
      if ((v < 0 || v >= classes) && !(t.hasIgnore && v == t.ignoreIndex)) return j;
    }
    return -1;
  });
}

static void checkShape(const LossTensors& t) {
  if (t.batch <= 0 || t.channels <= 0 || t.pixels <= 0) {
    throw LossArgumentError("batch, channels and pixels must be positive");
  }
  if (!t.logits || !t.target) throw LossArgumentError("logits and target must not be null");
}

double computeLossCpu(const LossTensors& tensors, const LossOptions& options, const LossGradient* grad) {
  checkShape(tensors);
  const int64_t bad = findInvalidLabel(tensors);
  if (bad >= 0) throw LossArgumentError("label outside [0, K) at flat index " + std::to_string(bad));
  return dispatchLoss(tensors, options, grad, [](const auto& in, auto* target, auto activation, const auto& loss) {
    using Loss = std::decay_t<decltype(loss)>;
    constexpr PixelActivationKind A = decltype(activation)::value;
    if constexpr (Loss::kFamily == LossFamily::Pixel) {
      return runPixelEngineCpu<A>(in, loss, target);
    } else {
      return runRegionEngineCpu<A>(in, loss, target);
    }
  });
}

}  // namespace segloss
