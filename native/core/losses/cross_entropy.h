// cross-entropy (spec 1): mean over valid pixels of −log p_t, with optional class weights and
// label smoothing ε, exactly as torch F.cross_entropy(weight, ignore_index, label_smoothing):
//   value = Σ_i [ (1 − ε) w_{t_i} (−log p_{t_i}) + (ε / K) Σ_c w_c (−log p_c) ] / Σ_i w_{t_i}
// over valid pixels i (w ≡ 1 without class weights). Pixel-wise family.
#pragma once

#include "../host_device.h"
#include "../loss_family.h"

namespace segloss {

struct CrossEntropyOptions {
  const double* classWeights = nullptr;  // [K] or nullptr (all 1)
  double labelSmoothing = 0.0;           // ε ∈ [0, 1]
};

struct CrossEntropyLoss {
  static constexpr LossFamily kFamily = LossFamily::Pixel;
  CrossEntropyOptions options;
  int classes = 0;  // K

  SEGLOSS_HD double pixelWeight(int label) const {
    return options.classWeights ? options.classWeights[label] : 1.0;
  }

  // (1 − ε) w_t (−log p_t) + (ε / K) Σ_c w_c (−log p_c)
  template <class Px>
  SEGLOSS_HD auto value(const Px& px, int label) const -> decltype(px.logProb(0)) {
    using T = decltype(px.logProb(0));
    const T eps = static_cast<T>(options.labelSmoothing);
    T term = -(T(1) - eps) * static_cast<T>(pixelWeight(label)) * px.logProb(label);
    if (eps > T(0)) {
      T smooth = T(0);
      for (int c = 0; c < classes; ++c) smooth -= static_cast<T>(pixelWeight(c)) * px.logProb(c);
      term += eps / static_cast<T>(classes) * smooth;
    }
    return term;
  }

  // h_c = p_c · d term / d p_c = −(1 − ε) w_t [c = t] − (ε / K) w_c
  template <class Px>
  SEGLOSS_HD auto scaledGrad(const Px& px, int c, int label) const -> decltype(px.logProb(0)) {
    using T = decltype(px.logProb(0));
    const T eps = static_cast<T>(options.labelSmoothing);
    T h = c == label ? -(T(1) - eps) * static_cast<T>(pixelWeight(label)) : T(0);
    if (eps > T(0)) h -= eps / static_cast<T>(classes) * static_cast<T>(pixelWeight(c));
    return h;
  }
};

}  // namespace segloss
