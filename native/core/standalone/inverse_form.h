// `inverseform` (spec 19; Borse, Wang, Zhang & Porikli 2021, "InverseForm: A Loss Function for
// Structured Boundary-Aware Segmentation", CVPR), combined as the paper trains with it:
//
//   value = segmentationWeight · CE(seg) + edgeWeight · BCE_bal(edge) + inverseFormWeight · IF
//
// on logits [B, C + 1, H, W]: channels 0 … C − 1 are the segmentation logits (softmax CE over the
// valid pixels), channel C is the boundary logit e. The target's edge map g: valid pixels with a
// valid pixel of another class in their 3×3 neighbourhood. BCE_bal: the class-balanced binary CE
// of e against g over the valid pixels (edge pixels weighted by the share of non-edge pixels and
// the reverse, as InverseForm's bce2d). IF: the edge probability p = σ(e) and g (both 0 at ignored
// pixels) are cut into 32×32 tiles (zero-padded at the right and bottom edges); the frozen
// inverse-transformation network N (inverse_form_net.h) regresses the warp between them, and
//   IF = mean over tiles of ‖N(p, g) − N(g, g)‖_ε,   ‖v‖_ε = √(‖v‖² + ε²) − ε, ε = 1e-6,
// so IF = 0 when the prediction equals the target's boundaries. The gradient flows to the edge
// logits through N (the released code's log_softmax over one channel makes it 0; see docs).
#pragma once

#include <cstdint>
#include <tuple>

#include "../losses.h"
#include "../option_fields.h"

namespace segloss {

struct InverseFormOptions {
  double segmentationWeight = 1.0;  // ≥ 0: the cross-entropy of the segmentation channels
  double edgeWeight = 0.3;          // ≥ 0: β, the balanced BCE of the edge channel
  double inverseFormWeight = 0.3;   // ≥ 0: γ, the InverseForm distance

  static constexpr auto fields() {
    return std::make_tuple(optionField("segmentationWeight", &InverseFormOptions::segmentationWeight),
                           optionField("edgeWeight", &InverseFormOptions::edgeWeight),
                           optionField("inverseFormWeight", &InverseFormOptions::inverseFormWeight));
  }
  const char* invalid() const {
    if (!(segmentationWeight >= 0.0) || !(edgeWeight >= 0.0) || !(inverseFormWeight >= 0.0)) return "weights must be ≥ 0";
    return nullptr;
  }
};

// tensors: logits [B, C + 1, N] and target [B, N] (labels in [0, C)), N = height · width; 2-D.
struct InverseFormInput {
  LossTensors tensors;
  int64_t height = 0, width = 0;
  const float* network = nullptr;  // [InverseFormNet::kParameterCount] the network's parameters
};

// The target's edge map [H, W] (1 = edge) of a label map (int32, −1 = ignored).
void inverseFormEdgeMap(const int32_t* labels, int64_t height, int64_t width, uint8_t* edges);

// The value; with grad, d value / d logits (scale · …) written into grad->data [B, C + 1, N].
double inverseFormLossCpu(const InverseFormInput& input, const InverseFormOptions& options, const LossGradient* grad);

}  // namespace segloss
