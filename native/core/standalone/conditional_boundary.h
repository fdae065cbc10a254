// `conditional-boundary` (spec 20; Wu et al. 2023, "Conditional Boundary Loss for Semantic
// Segmentation", IEEE TIP): a loss on the decoder's features f [B, D, H, W] and the classifier
// (W [C, D], b [C]) around the target's class boundaries, as dywu98/CBL-Conditional-Boundary-Loss
// `ER5OCRHead.context_loss` + `er_loss` compute it:
//
//   band:   pixels of a class within Chebyshev distance w of another label or of the image's
//           edge, w = max(1, round(boundaryWidthRatio·√(H² + W²))) (the reference's 3×3 erosion,
//           `dilation` iterations; its code ignores the ratio it is given and always uses 0.02)
//   A2P&N (contextWeight · L_ctx): for every band anchor p of a class > 0 at least 2 pixels
//           from the image's edge and each of its 24 neighbours q in the 5×5 window,
//           (cos(f_p, f_q) − [y_q = y_p])²; mean over (p, q) per image, mean over the images that
//           have anchors of a class > 0
//   A2C:    for class k, S_k = band anchors of class k with ≥ 1 neighbour of class k and
//           a_p = Σ_{q ∈ 5×5 \ p, y_q = k} f_q / (n_p + 1e-5);
//           neighbourClassWeight · L_nce, L_nce,k = mean_{p ∈ S_k} CE(W a_p + b, k);
//           M_k = anchors of S_k's kind that are predicted k (argmax of the logits) with ≥ 1
//           neighbour of class k predicted k, ā_p their mean feature (held constant);
//           centreWeight · L_cn, L_cn,k = mean_{p ∈ M_k, d} (f_p,d − ā_p,d)²;
//           both averaged over the classes whose S_k and M_k are not empty.
//
// The logits enter only through the prediction's argmax: d value / d logits = 0. The gradient
// goes to the features and to the classifier (W, b). It cannot be an engine functor (it needs the
// features and the classifier), so it has its own entry point (docs/engine.md).
#pragma once

#include <cstdint>
#include <tuple>

#include "../losses.h"
#include "../option_fields.h"

namespace segloss {

struct ConditionalBoundaryOptions {
  double boundaryWidthRatio = 0.02;   // ≥ 0: band width w = max(1, round(ratio · image diagonal))
  double contextWeight = 1.0;         // ≥ 0: the A2P&N (context similarity) term, loss_context
  double neighbourClassWeight = 0.2;  // ≥ 0: the neighbour-mean classification term, loss_NCE
  double centreWeight = 2.0;          // ≥ 0: the anchor-to-correct-centre term, loss_CN

  static constexpr auto fields() {
    return std::make_tuple(optionField("boundaryWidthRatio", &ConditionalBoundaryOptions::boundaryWidthRatio),
                           optionField("contextWeight", &ConditionalBoundaryOptions::contextWeight),
                           optionField("neighbourClassWeight", &ConditionalBoundaryOptions::neighbourClassWeight),
                           optionField("centreWeight", &ConditionalBoundaryOptions::centreWeight));
  }
  const char* invalid() const {
    if (!(boundaryWidthRatio >= 0.0 && boundaryWidthRatio <= 1.0)) return "boundaryWidthRatio must be in [0, 1]";
    if (!(contextWeight >= 0.0) || !(neighbourClassWeight >= 0.0) || !(centreWeight >= 0.0)) return "term weights must be ≥ 0";
    return nullptr;
  }
};

// One call's inputs; every array has the logits' dtype. tensors: logits [B, C, N] and target
// [B, N] with N = height · width (2-D only); activation is not read.
struct ConditionalBoundaryInput {
  LossTensors tensors;
  int64_t height = 0, width = 0;
  const void* features = nullptr;          // [B, D, H, W]
  int64_t featureChannels = 0;             // D ≥ 1
  const void* classifierWeight = nullptr;  // [C, D]
  const void* classifierBias = nullptr;    // [C], or null (zero bias)
};

// Where the gradients go (each may be null); every array has the logits' dtype, values scale · ∂.
struct ConditionalBoundaryGrads {
  void* logits = nullptr;            // [B, C, N], written with zeros
  void* features = nullptr;          // [B, D, N]
  void* classifierWeight = nullptr;  // [C, D]
  void* classifierBias = nullptr;    // [C]
  double scale = 1.0;
};

// The band of a label map [H, W] (int32, −1 = ignored, which counts as a label of its own):
// out[i] = 1 for non-ignored pixels within Chebyshev distance `width` of another label or of the
// image's edge (the reference's multi_class_gt_to_boundary).
void conditionalBoundaryBand(const int32_t* labels, int64_t height, int64_t imageWidth, int64_t width, uint8_t* out);

// The value (0 when no term has anything to average); with grads, writes their gradients.
// Throws LossArgumentError for inconsistent shapes, bad labels or non-finite inputs.
double conditionalBoundaryLossCpu(const ConditionalBoundaryInput& input, const ConditionalBoundaryOptions& options,
                                  const ConditionalBoundaryGrads* grads);

}  // namespace segloss
