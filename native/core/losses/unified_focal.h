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
#include "../parallel_cpu.h"
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

  static constexpr int kLanes = 8;  // independent partial sums: the moment loop vectorises without reassociation

  // L_AF; u_t += scale · p_t ∂L_AF/∂p_t. Images in parallel (each writes only its own u), their
  // sums added in image order.
  template <typename T>
  double focalPart(const ActivatedBatch<T>& in, T* u, double scale) const {
    const double V = static_cast<double>(in.validPixels);
    std::vector<double> sums(static_cast<size_t>(in.batch), 0.0);
    parallelRanges(in.batch, workersFor(in.batch, in.pixels * 8), [&](int, int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) sums[b] = imageFocalSum(in, b, u, scale / V);
    });
    double sum = 0.0;
    for (const double s : sums) sum += s;
    return sum / V;
  }

  // Σ f_t over image b's valid pixels; u_t += uScale · p_t ∂f_t/∂p_t.
  template <typename T>
  double imageFocalSum(const ActivatedBatch<T>& in, int64_t b, T* u, double uScale) const {
    const double delta = options.delta, gamma = options.gamma;
    const int32_t* label = in.labelRow(b);
    double sum = 0.0;
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
      if (u && inRange) u[(b * in.classes + t) * in.pixels + i] += static_cast<T>(uScale * static_cast<double>(p) * dfdp);
    }
    return sum;
  }

  // L_AFT; u += scale · p ∂L_AFT/∂p. The (image, class) groups in parallel (each writes only its
  // own row of u), their terms added in group order.
  template <typename T>
  double tverskyPart(const ActivatedBatch<T>& in, T* u, double scale) const {
    const int K = in.classes;
    const int64_t groups = in.batch * K;
    const double weight = 1.0 / static_cast<double>(groups);
    std::vector<double> terms(static_cast<size_t>(groups), 0.0);
    parallelRanges(groups, workersFor(groups, in.pixels), [&](int, int64_t g0, int64_t g1) {
      for (int64_t g = g0; g < g1; ++g) terms[g] = weight * groupTversky(in, g / K, static_cast<int>(g % K), u, scale * weight);
    });
    double value = 0.0;
    for (const double t : terms) value += t;
    return value;
  }

  // TP, FN and FP of class c in image b over the valid pixels, with p̃ = clip(p).
  template <typename T>
  static void groupMoments(const T* __restrict p, const int32_t* __restrict label, int c, int64_t n, double& TP,
                           double& FN, double& FP) {
    const T lo = static_cast<T>(kEpsilon), hi = static_cast<T>(1.0 - kEpsilon);
    double tp[kLanes] = {}, fn[kLanes] = {}, fp[kLanes] = {};
    int64_t i0 = 0;
    for (; i0 + kLanes <= n; i0 += kLanes) {
      for (int l = 0; l < kLanes; ++l) {
        const T x = p[i0 + l];
        const int32_t t = label[i0 + l];
        const T low = x < lo ? lo : x;
        const double pc = static_cast<double>(low > hi ? hi : low);
        const double g = t == c ? 1.0 : 0.0, valid = t >= 0 ? 1.0 : 0.0;  // masks, not branches: the loop vectorises
        tp[l] += g * pc;
        fn[l] += g * (1.0 - pc);
        fp[l] += (valid - g) * pc;
      }
    }
    for (int64_t i = i0; i < n; ++i) {
      const T x = p[i];
      const int32_t t = label[i];
      const T low = x < lo ? lo : x;
      const double pc = static_cast<double>(low > hi ? hi : low);
      const double g = t == c ? 1.0 : 0.0, valid = t >= 0 ? 1.0 : 0.0;  // masks, not branches: the loop vectorises
      tp[0] += g * pc;
      fn[0] += g * (1.0 - pc);
      fp[0] += (valid - g) * pc;
    }
    TP = FN = FP = 0.0;
    for (int l = 0; l < kLanes; ++l) {
      TP += tp[l];
      FN += fn[l];
      FP += fp[l];
    }
  }

  // h_c(TI) of class c in image b; u += uScale · p ∂h/∂p on its row (uScale: scale · weight).
  template <typename T>
  double groupTversky(const ActivatedBatch<T>& in, int64_t b, int c, T* u, double uScale) const {
    const int64_t N = in.pixels;
    const double delta = options.delta;
    const int32_t* label = in.labelRow(b);
    const T* p = in.probRow(b, c);
    double TP, FN, FP;
    groupMoments(p, label, c, N, TP, FN, FP);
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
    if (!u) return term;
    // ∂TI/∂p̃ at a pixel: g·(∂TP − ∂FN) + (1 − g)·∂FP.
    const double dTP = (den - num) / (den * den), dFN = -num * delta / (den * den), dFP = -num * (1.0 - delta) / (den * den);
    const double s = uScale * dTerm;
    const T fg = static_cast<T>(s * (dTP - dFN)), bg = static_cast<T>(s * dFP);
    const T lo = static_cast<T>(kEpsilon), hi = static_cast<T>(1.0 - kEpsilon);
    T* __restrict uc = u + (b * in.classes + c) * N;
    const T* __restrict pr = p;
    const int32_t* __restrict lr = label;
    for (int64_t i = 0; i < N; ++i) {
      const T x = pr[i];
      const int32_t t = lr[i];
      const bool pass = t >= 0 && x >= lo && x <= hi;  // valid, and the clip passes the gradient
      uc[i] += pass ? x * (t == c ? fg : bg) : T(0);
    }
    return term;
  }
};

}  // namespace segloss
