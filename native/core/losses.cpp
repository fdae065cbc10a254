// CPU implementation of the core entry points (losses.h).
#include "losses.h"

#include <string>

#include "dispatch.h"
#include "tile_engine_cpu.h"

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

static void checkOptions(const LossOptions& options) {
  if (const auto* ce = std::get_if<CrossEntropyOptions>(&options)) {
    if (ce->labelSmoothing < 0.0 || ce->labelSmoothing > 1.0) throw LossArgumentError("labelSmoothing outside [0, 1]");
  }
}

double computeLossCpu(const LossTensors& tensors, const std::vector<WeightedLossOptions>& terms,
                      const LossGradient* grad) {
  checkShape(tensors);
  if (terms.empty()) throw LossArgumentError("no loss term");
  const int64_t bad = findInvalidLabel(tensors);
  if (bad >= 0) throw LossArgumentError("label outside [0, K) at flat index " + std::to_string(bad));
  const int classes = probabilityClasses(tensors.channels);
  std::vector<EngineTerm> engineTerms;
  engineTerms.reserve(terms.size());
  for (const WeightedLossOptions& term : terms) {
    checkOptions(term.options);
    engineTerms.push_back(EngineTerm{
        std::visit([&](const auto& opts) { return LossFunctor(makeLossFunctor(opts, classes)); }, term.options),
        term.weight});
  }
  return dispatchBatch(tensors, grad, [&](const auto& in, auto* target, auto activation) {
    using Batch = std::decay_t<decltype(in)>;
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(Batch::logits)>>;
    using L = std::remove_cv_t<std::remove_pointer_t<decltype(Batch::target)>>;
    TileEngineCpu<decltype(activation)::value, T, L> engine(in, engineTerms);
    return engine.run(target);
  });
}

double computeLossCpu(const LossTensors& tensors, const LossOptions& options, const LossGradient* grad) {
  return computeLossCpu(tensors, std::vector<WeightedLossOptions>{{options, 1.0}}, grad);
}

}  // namespace segloss
