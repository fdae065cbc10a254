// The shape every pixel-wise loss is written in. At a valid pixel with true class t,
//   term = w_t · f(p_t, log p_t, a_t)  −  σ · Σ_c u_c log p_c
// with w the normaliser weights (classWeights; the value is Σ term / Σ_valid w_t), a per-class
// factors passed to f (e.g. focal's α), σ a smoothing coefficient and u_c = w_c. The loss writes
// only f and A = p_t · ∂f/∂p_t (trueClassTerm); the engines derive everything else, so
//   h_c = p_c · ∂term/∂p_c = w_t · A · [c = t]  −  σ · u_c.
//
// Channel complements (complementFactor b ≠ 0; only under the per-channel sigmoid, C ≥ 2): the
// term also adds, for every channel c ≠ t, w_t · f(1 − p_c, log(1 − p_c), b) — channel c's binary
// term for the target 0, so that the term is a sum of per-channel binary terms (focal's preset
// smp). f gets p = 1 − p_c (used in q = 1 − p and p log p, both bounded) and log p =
// log(1 − p_c) = −softplus(z_c), exact where 1 − p_c rounds to 0. The logit gradient,
// −w_t · A(1 − p_c) · p_c, is written straight to dz_c: as u_c = p_c ∂/∂p_c it would be unbounded
// where p_c → 1.
//
// trueClassTerm is a template on a math policy M (M::exp, M::log): the CPU kernels pass their
// vectorisable polynomials (tile_kernels_cpu.h), the CUDA engines and adapters ScalarMath.
#pragma once

#include "host_device.h"
#include "math.h"

namespace segloss {

// The math policy of the per-pixel (CUDA and host adapter) paths.
struct ScalarMath {
  template <typename T>
  SEGLOSS_HD SEGLOSS_INLINE static T exp(T x) { return fastExp(x); }
  template <typename T>
  SEGLOSS_HD SEGLOSS_INLINE static T log(T x) { return fastLog(x); }
};

// What a pixel-wise functor carries besides its own options.
struct PixelTermWeights {
  const double* classWeights = nullptr;  // [K] w (and u), or nullptr for all 1
  const double* classFactors = nullptr;  // [K] a, or nullptr for all 1
  double smoothing = 0.0;                // σ
  double complementFactor = 0.0;         // b of the channel complements (per-channel sigmoid only), 0: none
};

// Whether an activation has independent per-channel probabilities with a complement 1 − p_c of
// its own (the per-channel sigmoid: PixelActivation::logComplement).
template <class Px>
inline constexpr bool kHasChannelComplements = requires(const Px& px) { px.logComplement(0); };

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
             self().template trueClassTerm<ScalarMath>(px.prob(label), px.logProb(label),
                                                      static_cast<T>(classFactor(label)), A);
    const T sigma = static_cast<T>(self().weights.smoothing);
    if (sigma != T(0)) {
      T smooth = T(0);
      for (int c = 0; c < self().classes; ++c) smooth += static_cast<T>(pixelWeight(c)) * px.logProb(c);
      term -= sigma * smooth;
    }
    if constexpr (kHasChannelComplements<Px>) {
      if (self().weights.complementFactor != 0.0) {
        for (int c = 0; c < self().classes; ++c) {
          if (c == label) continue;
          T A;
          term += static_cast<T>(pixelWeight(label)) * complementTerm(px, c, A);
        }
      }
    }
    return term;
  }

  // d term / d z_c of the channel complements (0 without them; added to the activation's
  // Jacobian applied to scaledGrad).
  template <class Px>
  SEGLOSS_HD auto complementLogitGrad(const Px& px, int c, int label) const -> decltype(px.logProb(0)) {
    using T = decltype(px.logProb(0));
    if constexpr (kHasChannelComplements<Px>) {
      if (self().weights.complementFactor == 0.0 || c == label) return T(0);
      T A;
      complementTerm(px, c, A);
      return -static_cast<T>(pixelWeight(label)) * A * px.prob(c);
    }
    return T(0);
  }

  template <class Px>
  SEGLOSS_HD auto scaledGrad(const Px& px, int c, int label) const -> decltype(px.logProb(0)) {
    using T = decltype(px.logProb(0));
    T h = T(0);
    if (c == label) {
      T A;
      self().template trueClassTerm<ScalarMath>(px.prob(label), px.logProb(label), static_cast<T>(classFactor(label)), A);
      h = static_cast<T>(pixelWeight(label)) * A;
    }
    return h - static_cast<T>(self().weights.smoothing) * static_cast<T>(pixelWeight(c));
  }

 private:
  // f(1 − p_c, log(1 − p_c), b), with A = (1 − p_c) ∂f/∂(1 − p_c).
  template <class Px, typename T>
  SEGLOSS_HD T complementTerm(const Px& px, int c, T& A) const {
    return self().template trueClassTerm<ScalarMath>(T(1) - px.prob(c), px.logComplement(c),
                                                     static_cast<T>(self().weights.complementFactor), A);
  }
  SEGLOSS_HD SEGLOSS_INLINE const Loss& self() const { return static_cast<const Loss&>(*this); }
};

}  // namespace segloss
