// The trainer's objective (objective.h).
#include "objective.h"

#include <stdexcept>
#include <type_traits>

#include "../../core/loss_list.h"
#include "../../core/standalone/inverse_form_net.h"
#include "../standalone_losses_torch.h"

namespace segloss::trainer {

const char* standaloneId(const StandaloneTerm& term) {
  return std::visit(
      [](const auto& o) -> const char* {
        using O = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<O, ConditionalBoundaryOptions>) return "conditional-boundary";
        if constexpr (std::is_same_v<O, InverseFormOptions>) return "inverseform";
        return "boundary-aware";
      },
      term.options);
}

std::optional<int64_t> TrainerObjective::ignoreIndex() const {
  if (standalone) return standalone->ignoreIndex;
  return engine.terms.empty() ? std::nullopt : engine.terms.front().ignoreIndex;
}

namespace {

// The index among the engine terms of objective term t (not the standalone term).
size_t engineIndex(const TrainerObjective& objective, size_t t) {
  return objective.standalone && t > objective.standalone->position ? t - 1 : t;
}

}  // namespace

std::string TrainerObjective::termId(size_t t) const {
  if (standalone && t == standalone->position) return standaloneId(*standalone);
  return std::string(lossId(engine.terms.at(engineIndex(*this, t)).options));
}

double TrainerObjective::termWeight(size_t t) const {
  if (standalone && t == standalone->position) return standalone->weight;
  return engine.terms.at(engineIndex(*this, t)).weight;
}

void TrainerObjective::check() const {
  if (termCount() == 0) throw std::invalid_argument("the objective has no terms");
  if (!standalone) return;
  if (standalone->position >= termCount()) throw std::invalid_argument("the objective's standalone term has no position among its terms");
  if (std::holds_alternative<BoundaryAwareOptions>(standalone->options) && !engine.terms.empty()) {
    throw std::invalid_argument("boundary-aware is the whole objective (its model has no segmentation logits for other terms)");
  }
  if (std::holds_alternative<InverseFormOptions>(standalone->options) && standalone->network.size() != InverseFormNet::kParameterCount) {
    throw std::invalid_argument("inverseform's network does not have InverseFormNet::kParameterCount parameters");
  }
  if (const char* problem = std::visit([](const auto& o) { return o.invalid(); }, standalone->options)) {
    throw std::invalid_argument(std::string(standaloneId(*standalone)) + ": " + problem);
  }
}

int64_t outputChannels(const TrainerObjective& objective, int64_t classes) {
  if (!objective.standalone) return classes;
  if (std::holds_alternative<InverseFormOptions>(objective.standalone->options)) return classes + 1;
  if (const auto* binned = std::get_if<BoundaryAwareOptions>(&objective.standalone->options)) return classes * binned->bins;
  return classes;
}

namespace {

bool isBoundaryAware(const TrainerObjective& objective) {
  return objective.standalone && std::holds_alternative<BoundaryAwareOptions>(objective.standalone->options);
}

at::Tensor standaloneValue(const StandaloneTerm& term, const ObjectiveInput& input, const at::Tensor& masks) {
  if (const auto* o = std::get_if<ConditionalBoundaryOptions>(&term.options)) {
    const int64_t classes = input.classifierWeight.size(0);
    // the logits enter through their argmax only; the gradient reaches the model through the
    // features and the head's weight and bias
    const at::Tensor logits = input.output.narrow(1, 0, classes).detach();
    return torch_ops::conditionalBoundaryLoss(logits, masks, input.features, input.classifierWeight, input.classifierBias, *o,
                                              term.ignoreIndex);
  }
  if (const auto* o = std::get_if<InverseFormOptions>(&term.options)) {
    return torch_ops::inverseFormLoss(input.output, masks, term.network, *o, term.ignoreIndex);
  }
  return torch_ops::boundaryAwareLoss(input.output, masks, std::get<BoundaryAwareOptions>(term.options), term.ignoreIndex);
}

}  // namespace

at::Tensor segmentationLogits(const TrainerObjective& objective, const at::Tensor& output, int64_t classes) {
  if (isBoundaryAware(objective)) return at::Tensor();
  return output.size(1) == classes ? output : output.narrow(1, 0, classes);
}

at::Tensor predictedClasses(const TrainerObjective& objective, const at::Tensor& output, int64_t classes) {
  if (isBoundaryAware(objective)) {
    return torch_ops::decodeBoundaryAware(output, std::get<BoundaryAwareOptions>(objective.standalone->options));
  }
  return segmentationLogits(objective, output, classes).argmax(1);
}

std::vector<at::Tensor> termValues(const TrainerObjective& objective, const std::vector<torch_ops::Objective>& units,
                                   const ObjectiveInput& input, const at::Tensor& masks, int64_t classes) {
  std::vector<at::Tensor> values;
  const at::Tensor logits = segmentationLogits(objective, input.output, classes);
  size_t unit = 0;
  for (size_t t = 0; t < objective.termCount(); ++t) {
    if (objective.standalone && t == objective.standalone->position) {
      values.push_back(standaloneValue(*objective.standalone, input, masks));
    } else {
      values.push_back(torch_ops::loss(logits, masks, units.at(unit++)));
    }
  }
  return values;
}

at::Tensor objectiveValue(const TrainerObjective& objective, const ObjectiveInput& input, const at::Tensor& masks,
                          int64_t classes) {
  at::Tensor total;
  if (!objective.engine.terms.empty()) total = torch_ops::loss(segmentationLogits(objective, input.output, classes), masks, objective.engine);
  if (objective.standalone) {
    const at::Tensor weighted = standaloneValue(*objective.standalone, input, masks) * objective.standalone->weight;
    total = total.defined() ? total + weighted : weighted;
  }
  return total;
}

std::vector<torch_ops::Objective> unitObjectives(const torch_ops::Objective& objective) {
  std::vector<torch_ops::Objective> units;
  for (LossTerm term : objective.terms) {
    term.weight = 1.0;
    units.push_back(torch_ops::Objective{{term}, at::Tensor()});
  }
  return units;
}

}  // namespace segloss::trainer
