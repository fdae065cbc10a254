// unified-focal (spec 25; Yeung et al. 2022, asymmetric form): λ·L_AF + (1 − λ)·L_AFT, δ = 0.6,
// γ = 0.5, class 0 the background, probabilities clipped to p̃ = clip(p, ε, 1 − ε), ε = 1e-7 (the
// clip passes no gradient where it binds, as torch.clamp):
//   L_AF  = (1/V) Σ_valid f_t,  f_0 = (1 − δ)·(1 − p̃_0)^γ·(−ln p̃_0),  f_c = δ·(−ln p̃_c) for c ≥ 1
//   L_AFT = mean over images b and classes c of h_c(TI_bc),  TI = (TP + ε)/(TP + δ·FN + (1 − δ)·FP + ε)
//           with TP = Σ g p̃, FN = Σ g (1 − p̃), FP = Σ (1 − g) p̃ over the image's valid pixels;
//           h_0 = 1 − TI, h_c = (1 − TI)^(1 − γ) for c ≥ 1 (its slope is infinite at TI = 1: the
//           subgradient 0 is used there).
// Preset monai: MONAI AsymmetricUnifiedFocalLoss (binary: K = 2), whose default δ is 0.7.
// Special family (special_batch.h): it reads p and writes u = p · ∂value/∂p.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../loss_family.h"
#include "../option_fields.h"
#include "../special_batch.h"

namespace segloss {

struct UnifiedFocalOptions {
  double lambda = 0.5;  // λ ∈ [0, 1], the weight of the asymmetric focal loss (1 − λ: focal Tversky)
  double delta = 0.6;   // δ ∈ [0, 1], the foreground / false-negative weight
  double gamma = 0.5;   // γ ∈ [0, 1], the focal exponent

  static constexpr auto fields() {
    return std::tuple{optionField("lambda", &UnifiedFocalOptions::lambda), optionField("delta", &UnifiedFocalOptions::delta),
                      optionField("gamma", &UnifiedFocalOptions::gamma)};
  }
  // The broken invariant, or nullptr.
  const char* invalid() const {
    if (!(lambda >= 0.0 && lambda <= 1.0) || !(delta >= 0.0 && delta <= 1.0) || !(gamma >= 0.0 && gamma <= 1.0)) {
      return "lambda, delta or gamma is not in [0, 1]";
    }
    return nullptr;
  }
};

struct UnifiedFocalLoss {
  static constexpr LossFamily kFamily = LossFamily::Special;
  static constexpr const char* kId = "unified-focal";
  using Options = UnifiedFocalOptions;
  static constexpr double kEpsilon = 1e-7;
  UnifiedFocalOptions options;

  UnifiedFocalLoss() = default;
  UnifiedFocalLoss(const Options& o, const LossContext&) : options(o) {}

  SpecialNeeds needs() const { return SpecialNeeds{.prob = true, .u = true}; }

  template <typename T>
  double run(const ActivatedBatch<T>& in, const SpecialGrad<T>& grad, double factor) const {
    const double focal = focalPart(in, grad.u, factor * options.lambda);
    const double tversky = tverskyPart(in, grad.u, factor * (1.0 - options.lambda));
    return options.lambda * focal + (1.0 - options.lambda) * tversky;
  }

 private:
  // p̃ = clip(p, ε, 1 − ε) in the input's precision, and whether the clip passes the gradient.
  template <typename T>
  static T clipped(T p, bool& inRange) {
    const T lo = static_cast<T>(kEpsilon), hi = static_cast<T>(1.0 - kEpsilon);
    inRange = p >= lo && p <= hi;
    return p < lo ? lo : (p > hi ? hi : p);
  }

  // L_AF; u_t += scale · p_t ∂L_AF/∂p_t.
  template <typename T>
  double focalPart(const ActivatedBatch<T>& in, T* u, double scale) const {
    const double V = static_cast<double>(in.validPixels);
    const double delta = options.delta, gamma = options.gamma;
    double sum = 0.0;
    for (int64_t b = 0; b < in.batch; ++b) {
      const int32_t* label = in.labelRow(b);
      for (int64_t i = 0; i < in.pixels; ++i) {
        const int t = label[i];
        if (t < 0) continue;
        const T p = in.probRow(b, t)[i];
        bool inRange;
        const double pc = static_cast<double>(clipped(p, inRange));
        const double ce = -std::log(pc);
        double f, dfdp;  // f and ∂f/∂p̃
        if (t == 0) {
          const double q = 1.0 - pc;
          const double qg = std::pow(q, gamma);
          f = (1.0 - delta) * qg * ce;
          dfdp = (1.0 - delta) * (-gamma * (gamma == 0.0 ? 0.0 : qg / q) * ce - qg / pc);
        } else {
          f = delta * ce;
          dfdp = -delta / pc;
        }
        sum += f;
        if (u && inRange) u[(b * in.classes + t) * in.pixels + i] += static_cast<T>(scale / V * static_cast<double>(p) * dfdp);
      }
    }
    return sum / V;
  }

  // L_AFT; u += scale · p ∂L_AFT/∂p.
  template <typename T>
  double tverskyPart(const ActivatedBatch<T>& in, T* u, double scale) const {
    const int K = in.classes;
    const int64_t N = in.pixels;
    const double delta = options.delta;
    const double weight = 1.0 / (static_cast<double>(in.batch) * K);
    double value = 0.0;
    for (int64_t b = 0; b < in.batch; ++b) {
      const int32_t* label = in.labelRow(b);
      for (int c = 0; c < K; ++c) {
        const T* p = in.probRow(b, c);
        double TP = 0.0, FN = 0.0, FP = 0.0;
        for (int64_t i = 0; i < N; ++i) {
          if (label[i] < 0) continue;
          bool inRange;
          const double pc = static_cast<double>(clipped(p[i], inRange));
          const bool g = label[i] == c;
          TP += g ? pc : 0.0;
          FN += g ? 1.0 - pc : 0.0;
          FP += g ? 0.0 : pc;
        }
        const double num = TP + kEpsilon;
        const double den = TP + delta * FN + (1.0 - delta) * FP + kEpsilon;
        const double ti = num / den;
        double term, dTerm;  // h(TI) and dh/dTI
        if (c == 0) {
          term = 1.0 - ti;
          dTerm = -1.0;
        } else {
          const double x = 1.0 - ti;
          const double e = 1.0 - options.gamma;
          term = x > 0.0 ? std::pow(x, e) : 0.0;
          dTerm = x > 0.0 ? -e * term / x : 0.0;
        }
        value += weight * term;
        if (!u) continue;
        // ∂TI/∂p̃ at a pixel: g·(∂TP − ∂FN) + (1 − g)·∂FP.
        const double dTP = (den - num) / (den * den), dFN = -num * delta / (den * den), dFP = -num * (1.0 - delta) / (den * den);
        const double s = scale * weight * dTerm;
        const T fg = static_cast<T>(s * (dTP - dFN)), bg = static_cast<T>(s * dFP);
        T* uc = u + (b * K + c) * N;
        for (int64_t i = 0; i < N; ++i) {
          if (label[i] < 0) continue;
          bool inRange;
          clipped(p[i], inRange);
          uc[i] += inRange ? p[i] * (label[i] == c ? fg : bg) : T(0);
        }
      }
    }
    return value;
  }
};

}  // namespace segloss
