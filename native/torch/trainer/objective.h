// The trainer's objective: Σ weight · term over terms of two kinds, in the order the user wrote
// them. Engine terms run through the fused autograd op (torch_ops::loss) on the model's
// segmentation logits. At most one standalone term (native/core/standalone, through
// standalone_losses_torch.h) reads what only a model has:
//   conditional-boundary  the model's last decoder features and its 1×1 classifier head (weight
//                         and bias), differentiated through them into the model; the logits only
//                         through their argmax
//   inverseform           one extra output channel, the edge logit (last): the model outputs
//                         C + 1 channels, the first C are the segmentation logits
//   boundary-aware        C·K output channels (class-major distance bins) and no segmentation
//                         logits: it is the whole objective; classes come from its decoder
// What the model outputs, which channels are the segmentation logits and how classes are predicted
// all follow from the objective, here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <ATen/ATen.h>

#include "../../core/standalone/boundary_aware.h"
#include "../../core/standalone/conditional_boundary.h"
#include "../../core/standalone/inverse_form.h"
#include "../fused_loss.h"

namespace segloss::trainer {

/// A standalone loss of the objective, with its resolved options.
struct StandaloneTerm {
  std::variant<ConditionalBoundaryOptions, InverseFormOptions, BoundaryAwareOptions> options;
  double weight = 1.0;
  size_t position = 0;                 // its index among the objective's terms
  std::optional<int64_t> ignoreIndex;  // the objective's ignore index
  std::vector<float> network;          // inverseform: InverseFormNet::kParameterCount parameters
};

/// The loss id of a standalone term ('conditional-boundary', 'inverseform', 'boundary-aware').
const char* standaloneId(const StandaloneTerm& term);

struct TrainerObjective {
  torch_ops::Objective engine;               // on the segmentation logits; empty only with a standalone term
  std::optional<StandaloneTerm> standalone;  // at most one

  size_t termCount() const { return engine.terms.size() + (standalone ? 1 : 0); }
  /// The ignore index shared by every term (none by default).
  std::optional<int64_t> ignoreIndex() const;
  /// The id and the weight of term t, in objective order.
  std::string termId(size_t t) const;
  double termWeight(size_t t) const;
  /// Throws std::invalid_argument for an objective without terms, a standalone term not at a
  /// position in [0, termCount()), engine terms beside boundary-aware, or a network of the wrong size.
  void check() const;
};

/// The model's output channels for C classes: C, C + 1 (inverseform) or C·K (boundary-aware).
int64_t outputChannels(const TrainerObjective& objective, int64_t classes);

/// One forward pass, as the objective reads it.
struct ObjectiveInput {
  at::Tensor output;    // [B, outputChannels, H, W] float32
  at::Tensor features;  // [B, F, H, W] float32 (conditional-boundary)
  at::Tensor classifierWeight, classifierBias;  // the model's 1×1 head [C, F, 1, 1], [C] (conditional-boundary)
};

/// The segmentation logits [B, C, H, W]: the output's first C channels. Undefined for boundary-aware.
at::Tensor segmentationLogits(const TrainerObjective& objective, const at::Tensor& output, int64_t classes);

/// The predicted classes [B, H, W] (int64, the output's device): the argmax of the segmentation
/// logits, or boundary-aware's decoder (torch_ops::decodeBoundaryAware).
at::Tensor predictedClasses(const TrainerObjective& objective, const at::Tensor& output, int64_t classes);

/// Each term's own (unweighted) value, in objective order: 0-dim tensors that carry their
/// autograd graphs when grad mode is on. `units` are the engine terms, each alone with weight 1
/// (unitObjectives), so robust-t's θ stays an input of its terms.
std::vector<at::Tensor> termValues(const TrainerObjective& objective, const std::vector<torch_ops::Objective>& units,
                                   const ObjectiveInput& input, const at::Tensor& masks, int64_t classes);

/// Σ weight · term value (a 0-dim tensor, differentiable as termValues): the engine terms in one
/// compound pass.
at::Tensor objectiveValue(const TrainerObjective& objective, const ObjectiveInput& input, const at::Tensor& masks,
                          int64_t classes);

/// The engine terms each alone with weight 1.
std::vector<torch_ops::Objective> unitObjectives(const torch_ops::Objective& objective);

}  // namespace segloss::trainer
