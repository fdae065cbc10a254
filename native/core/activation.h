// Per-pixel activations: logits of one pixel -> class probabilities, and the activation's Jacobian
// applied once to a per-pixel gradient. Every engine (CPU and CUDA) goes through these, so a loss
// functor only ever sees probabilities p_c and log-probabilities log p_c.
//
// The number of probability classes K equals the number of logit channels C, except for C = 1
// (binary), where K = 2: class 1 is the foreground p = σ(z) (or the given probability for
// 'none') and class 0 is the background 1 − p.
#pragma once

#include <cstdint>

#include "host_device.h"
#include "math.h"

namespace segloss {

// User-facing activation (what the options say).
enum class Activation : int { Softmax = 0, Sigmoid = 1, None = 2 };

// Engine-level activation: the user-facing one resolved against C (C = 1 → the binary forms).
enum class PixelActivationKind : int { Softmax, Sigmoid, None, BinarySigmoid, BinaryNone };

// Number of probability classes seen by the loss functors for C logit channels.
SEGLOSS_HD SEGLOSS_INLINE int probabilityClasses(int64_t channels) {
  return channels == 1 ? 2 : static_cast<int>(channels);
}

template <typename T, PixelActivationKind A>
class PixelActivation;

// softmax over C: p_c = e^{z_c − lse}. Jacobian: dz_k = p_k (d_k − Σ_c p_c d_c),
// or from the probability-scaled gradient h_c = p_c d_c: dz_k = h_k − p_k Σ_c h_c.
template <typename T>
class PixelActivation<T, PixelActivationKind::Softmax> {
 public:
  SEGLOSS_HD PixelActivation(const T* z, int64_t stride, int channels)
      : z_(z), stride_(stride), channels_(channels) {
    T m = z[0];
    for (int c = 1; c < channels; ++c) m = maxOf(m, z[c * stride]);
    T s = T(0);
    for (int c = 0; c < channels; ++c) s += fastExp(z[c * stride] - m);
    lse_ = m + fastLog(s);
  }
  SEGLOSS_HD int classes() const { return channels_; }
  SEGLOSS_HD T logProb(int c) const { return z_[c * stride_] - lse_; }
  SEGLOSS_HD T prob(int c) const { return fastExp(logProb(c)); }

  // out[c * stride] (=|+=) scale · dL/dz_c, from d(c) = dL/dp_c.
  template <class ProbGrad>
  SEGLOSS_HD void writeFromProbGrad(const ProbGrad& d, T* out, T scale, bool accumulate) const {
    T dot = T(0);
    for (int c = 0; c < channels_; ++c) dot += prob(c) * d(c);
    for (int c = 0; c < channels_; ++c) store(out, c, scale * prob(c) * (d(c) - dot), accumulate);
  }
  // Same, from h(c) = p_c · dL/dp_c (finite even where p_c underflows).
  template <class ScaledGrad>
  SEGLOSS_HD void writeFromScaledGrad(const ScaledGrad& h, T* out, T scale, bool accumulate) const {
    T sum = T(0);
    for (int c = 0; c < channels_; ++c) sum += h(c);
    for (int c = 0; c < channels_; ++c) store(out, c, scale * (h(c) - prob(c) * sum), accumulate);
  }

 private:
  SEGLOSS_HD void store(T* out, int c, T v, bool accumulate) const {
    if (accumulate) out[c * stride_] += v; else out[c * stride_] = v;
  }
  const T* z_;
  int64_t stride_;
  int channels_;
  T lse_;
};

// Independent sigmoid per channel: p_c = σ(z_c), dz_c = d_c p_c (1 − p_c) = h_c (1 − p_c).
template <typename T>
class PixelActivation<T, PixelActivationKind::Sigmoid> {
 public:
  SEGLOSS_HD PixelActivation(const T* z, int64_t stride, int channels)
      : z_(z), stride_(stride), channels_(channels) {}
  SEGLOSS_HD int classes() const { return channels_; }
  SEGLOSS_HD T logProb(int c) const { return -softplus(-z_[c * stride_]); }
  SEGLOSS_HD T prob(int c) const { return sigmoid(z_[c * stride_]); }
  // log(1 − p_c) = −softplus(z_c) (pixel_terms.h: channel complements).
  SEGLOSS_HD T logComplement(int c) const { return -softplus(z_[c * stride_]); }

  template <class ProbGrad>
  SEGLOSS_HD void writeFromProbGrad(const ProbGrad& d, T* out, T scale, bool accumulate) const {
    for (int c = 0; c < channels_; ++c) {
      const T p = prob(c);
      store(out, c, scale * d(c) * p * (T(1) - p), accumulate);
    }
  }
  template <class ScaledGrad>
  SEGLOSS_HD void writeFromScaledGrad(const ScaledGrad& h, T* out, T scale, bool accumulate) const {
    for (int c = 0; c < channels_; ++c) store(out, c, scale * h(c) * sigmoid(-z_[c * stride_]), accumulate);
  }

 private:
  SEGLOSS_HD void store(T* out, int c, T v, bool accumulate) const {
    if (accumulate) out[c * stride_] += v; else out[c * stride_] = v;
  }
  const T* z_;
  int64_t stride_;
  int channels_;
};

// The caller passes probabilities: p_c = z_c, dz_c = d_c = h_c / p_c.
template <typename T>
class PixelActivation<T, PixelActivationKind::None> {
 public:
  SEGLOSS_HD PixelActivation(const T* z, int64_t stride, int channels)
      : z_(z), stride_(stride), channels_(channels) {}
  SEGLOSS_HD int classes() const { return channels_; }
  SEGLOSS_HD T prob(int c) const { return z_[c * stride_]; }
  SEGLOSS_HD T logProb(int c) const { return fastLog(maxOf(prob(c), ProbabilityFloor<T>::value)); }

  template <class ProbGrad>
  SEGLOSS_HD void writeFromProbGrad(const ProbGrad& d, T* out, T scale, bool accumulate) const {
    for (int c = 0; c < channels_; ++c) store(out, c, scale * d(c), accumulate);
  }
  template <class ScaledGrad>
  SEGLOSS_HD void writeFromScaledGrad(const ScaledGrad& h, T* out, T scale, bool accumulate) const {
    for (int c = 0; c < channels_; ++c)
      store(out, c, scale * h(c) / maxOf(prob(c), ProbabilityFloor<T>::value), accumulate);
  }

 private:
  SEGLOSS_HD void store(T* out, int c, T v, bool accumulate) const {
    if (accumulate) out[c * stride_] += v; else out[c * stride_] = v;
  }
  const T* z_;
  int64_t stride_;
  int channels_;
};

// One logit channel, two classes: p_1 = σ(z), p_0 = σ(−z).
// dz = (d_1 − d_0) p_0 p_1 = h_1 p_0 − h_0 p_1.
template <typename T>
class PixelActivation<T, PixelActivationKind::BinarySigmoid> {
 public:
  SEGLOSS_HD PixelActivation(const T* z, int64_t, int) : z_(*z) {}
  SEGLOSS_HD int classes() const { return 2; }
  SEGLOSS_HD T logProb(int c) const { return -softplus(c == 1 ? -z_ : z_); }
  SEGLOSS_HD T prob(int c) const { return sigmoid(c == 1 ? z_ : -z_); }

  template <class ProbGrad>
  SEGLOSS_HD void writeFromProbGrad(const ProbGrad& d, T* out, T scale, bool accumulate) const {
    store(out, scale * (d(1) - d(0)) * prob(0) * prob(1), accumulate);
  }
  template <class ScaledGrad>
  SEGLOSS_HD void writeFromScaledGrad(const ScaledGrad& h, T* out, T scale, bool accumulate) const {
    store(out, scale * (h(1) * prob(0) - h(0) * prob(1)), accumulate);
  }

 private:
  SEGLOSS_HD static void store(T* out, T v, bool accumulate) {
    if (accumulate) *out += v; else *out = v;
  }
  T z_;
};

// One probability channel, two classes: p_1 = z, p_0 = 1 − z; dz = d_1 − d_0.
template <typename T>
class PixelActivation<T, PixelActivationKind::BinaryNone> {
 public:
  SEGLOSS_HD PixelActivation(const T* z, int64_t, int) : z_(*z) {}
  SEGLOSS_HD int classes() const { return 2; }
  SEGLOSS_HD T prob(int c) const { return c == 1 ? z_ : T(1) - z_; }
  SEGLOSS_HD T logProb(int c) const { return fastLog(maxOf(prob(c), ProbabilityFloor<T>::value)); }

  template <class ProbGrad>
  SEGLOSS_HD void writeFromProbGrad(const ProbGrad& d, T* out, T scale, bool accumulate) const {
    store(out, scale * (d(1) - d(0)), accumulate);
  }
  template <class ScaledGrad>
  SEGLOSS_HD void writeFromScaledGrad(const ScaledGrad& h, T* out, T scale, bool accumulate) const {
    const T floor = ProbabilityFloor<T>::value;
    store(out, scale * (h(1) / maxOf(prob(1), floor) - h(0) / maxOf(prob(0), floor)), accumulate);
  }

 private:
  SEGLOSS_HD static void store(T* out, T v, bool accumulate) {
    if (accumulate) *out += v; else *out = v;
  }
  T z_;
};

}  // namespace segloss
