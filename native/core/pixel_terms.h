// The shape every pixel-wise loss is written in. At a valid pixel with true class t,
//   term = w_t · f(p_t, log p_t, a_t)  −  σ · Σ_c u_c log p_c
// with w the normaliser weights (classWeights; the value is Σ term / Σ_valid w_t), a per-class
// factors passed to f (e.g. focal's α), σ a smoothing coefficient and u_c = w_c. The loss writes
// only f and A = p_t · ∂f/∂p_t (trueClassTerm); the engines derive everything else, so
//   h_c = p_c · ∂term/∂p_c = w_t · A · [c = t]  −  σ · u_c.
#pragma once

#include "host_device.h"

namespace segloss {

// What a pixel-wise functor carries besides its own options.
struct PixelTermWeights {
  const double* classWeights = nullptr;  // [K] w (and u), or nullptr for all 1
  const double* classFactors = nullptr;  // [K] a, or nullptr for all 1
  double smoothing = 0.0;                // σ
};

// The per-pixel interface (pixelWeight, value, scaledGrad) the CUDA pixel engine uses, derived
// once for every pixel-wise loss from its trueClassTerm and its PixelTermWeights `weights`.
template <class Loss>
struct TrueClassPixelLoss {
  SEGLOSS_HD SEGLOSS_INLINE double pixelWeight(int label) const {
    const double* w = self().weights.classWeights;
    return w ? w[label] : 1.0;
  }
  SEGLOSS_HD SEGLOSS_INLINE double classFactor(int label) const {
    const double* a = self().weights.classFactors;
    return a ? a[label] : 1.0;
  }

  template <class Px>
  SEGLOSS_HD auto value(const Px& px, int label) const -> decltype(px.logProb(0)) {
    using T = decltype(px.logProb(0));
    T A;
    T term = static_cast<T>(pixelWeight(label)) *
             self().trueClassTerm(px.prob(label), px.logProb(label), static_cast<T>(classFactor(label)), A);
    const T sigma = static_cast<T>(self().weights.smoothing);
    if (sigma != T(0)) {
      T smooth = T(0);
      for (int c = 0; c < self().classes; ++c) smooth += static_cast<T>(pixelWeight(c)) * px.logProb(c);
      term -= sigma * smooth;
    }
    return term;
  }

  template <class Px>
  SEGLOSS_HD auto scaledGrad(const Px& px, int c, int label) const -> decltype(px.logProb(0)) {
    using T = decltype(px.logProb(0));
    T h = T(0);
    if (c == label) {
      T A;
      self().trueClassTerm(px.prob(label), px.logProb(label), static_cast<T>(classFactor(label)), A);
      h = static_cast<T>(pixelWeight(label)) * A;
    }
    return h - static_cast<T>(self().weights.smoothing) * static_cast<T>(pixelWeight(c));
  }

 private:
  SEGLOSS_HD SEGLOSS_INLINE const Loss& self() const { return static_cast<const Loss&>(*this); }
};

}  // namespace segloss
