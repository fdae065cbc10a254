// cross-entropy (spec 1): mean over valid pixels of −log p_t, with optional class weights and
// label smoothing ε, exactly as torch F.cross_entropy(weight, ignore_index, label_smoothing):
//   value = Σ_i [ (1 − ε) w_{t_i} (−log p_{t_i}) + (ε / K) Σ_c w_c (−log p_c) ] / Σ_i w_{t_i}
// over valid pixels i (w ≡ 1 without class weights). Pixel-wise family (pixel_terms.h):
// f = −(1 − ε) log p_t, σ = ε / K.
#pragma once

#include <cmath>

#include "../host_device.h"
#include "../loss_family.h"
#include "../option_fields.h"
#include "../pixel_terms.h"

namespace segloss {

struct CrossEntropyOptions {
  DoubleArray classWeights;    // [K] finite ≥ 0, or empty (all 1)
  double labelSmoothing = 0.0;  // ε ∈ [0, 1]

  static constexpr auto fields() {
    return std::tuple{optionField("classWeights", &CrossEntropyOptions::classWeights, kPerClass),
                      optionField("labelSmoothing", &CrossEntropyOptions::labelSmoothing)};
  }
  // The broken invariant, or nullptr (native code checks its own invariants; wording for users is in TypeScript).
  const char* invalid() const {
    if (!(labelSmoothing >= 0.0 && labelSmoothing <= 1.0)) return "labelSmoothing is outside [0, 1]";
    for (const double w : classWeights.values) {
      if (!(w >= 0.0) || w == HUGE_VAL) return "classWeights holds a negative or non-finite weight";
    }
    return nullptr;
  }
};

struct CrossEntropyLoss : TrueClassPixelLoss<CrossEntropyLoss> {
  static constexpr LossFamily kFamily = LossFamily::Pixel;
  static constexpr const char* kId = "cross-entropy";
  using Options = CrossEntropyOptions;

  PixelTermWeights weights;
  double keep = 1.0;  // 1 − ε
  int classes = 0;    // K

  CrossEntropyLoss() = default;
  CrossEntropyLoss(const Options& options, const LossContext& context)
      : keep(1.0 - options.labelSmoothing), classes(context.classes) {
    weights.classWeights = context.bind(options.classWeights);
    weights.smoothing = options.labelSmoothing / context.classes;
  }

  // f = −(1 − ε) log p_t;  A = p_t ∂f/∂p_t = −(1 − ε).
  template <typename T>
  SEGLOSS_HD SEGLOSS_INLINE T trueClassTerm(T, T logProb, T, T& scaledGrad) const {
    scaledGrad = -static_cast<T>(keep);
    return -static_cast<T>(keep) * logProb;
  }
};

}  // namespace segloss
