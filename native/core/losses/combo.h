// combo (spec 23; Taghanaki et al. 2019): α·WCE_β + (1 − α)·(1 − Dice), α = β = 0.5, with
//   WCE_β = (1 / (V·K)) Σ_valid Σ_c −[β g_c ln p_c + (1 − β)(1 − g_c) ln(1 − p_c)]
// (V valid pixels, K classes; β weighs false negatives against false positives) and Dice the `dice`
// loss (dice.h) with its perImage, includeBackground and smooth. Special family (special_batch.h):
// the Dice part is dice.h's head on moments summed here from the stored probabilities.
//
// ln(1 − p_c) and the gradient stay finite for saturated probabilities: where the probabilities
// sum to 1 (softmax, C = 1), ln(1 − p_c) = ln Σ_{k≠c} p_k is taken as log1p(−p_c) when p_c < ½
// and as logsumexp_{k≠c} log p_k for the one class with p_c ≥ ½; and u = p · ∂value/∂p is written
// in the bounded form of the same identity: the term −ln(1 − p_c) = −ln Σ_{k≠c} p_k gives
// u_k = −p_k / (1 − p_c) for k ≠ c (each ≤ 1 in magnitude, computed as e^{log p_k − ln(1 − p_c)})
// and 0 for k = c, which the softmax Jacobian maps to the exact logit gradient. Independent
// sigmoids and 'none' use ln max(1 − p_c, floor) and u_c = p_c / max(1 − p_c, floor).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../loss_family.h"
#include "../math.h"
#include "../option_fields.h"
#include "../parallel_cpu.h"
#include "../region_moments.h"
#include "../special_batch.h"
#include "dice.h"

namespace segloss {

struct ComboOptions {
  double alpha = 0.5;             // α ∈ [0, 1], the cross-entropy's share
  double beta = 0.5;              // β ∈ [0, 1], the weight of the positive (false-negative) terms
  bool perImage = false;          // Dice: per-image ratios
  bool includeBackground = true;  // Dice: keep class 0
  double smooth = 1e-5;           // Dice: s

  static constexpr auto fields() {
    return std::tuple{optionField("alpha", &ComboOptions::alpha), optionField("beta", &ComboOptions::beta),
                      optionField("perImage", &ComboOptions::perImage),
                      optionField("includeBackground", &ComboOptions::includeBackground),
                      optionField("smooth", &ComboOptions::smooth)};
  }
  // The broken invariant, or nullptr.
  const char* invalid() const {
    if (!(alpha >= 0.0 && alpha <= 1.0) || !(beta >= 0.0 && beta <= 1.0)) return "alpha or beta is not in [0, 1]";
    if (!(smooth >= 0.0)) return "smooth is negative";
    return nullptr;
  }
};

struct ComboLoss {
  static constexpr LossFamily kFamily = LossFamily::Special;
  static constexpr const char* kId = "combo";
  using Options = ComboOptions;
  ComboOptions options;
  DiceLoss dice;

  ComboLoss() = default;
  ComboLoss(const Options& o, const LossContext& context) : options(o), dice(diceOptions(o), context) {}

  static DiceOptions diceOptions(const Options& o) {
    DiceOptions d;
    d.perImage = o.perImage;
    d.includeBackground = o.includeBackground;
    d.smooth = o.smooth;
    return d;
  }

  SpecialNeeds needs() const { return SpecialNeeds{.prob = true, .logProb = true, .u = true}; }

  template <typename T>
  double run(const ActivatedBatch<T>& in, const SpecialGrad<T>& grad, double factor) const {
    const double ce = crossEntropyPart(in, grad.u, factor * options.alpha);
    const double diceValue = dicePart(in, grad.u, factor * (1.0 - options.alpha));
    return options.alpha * ce + (1.0 - options.alpha) * diceValue;
  }

 private:
  // WCE_β; adds scale · u of it to u (when not null).
  template <typename T>
  double crossEntropyPart(const ActivatedBatch<T>& in, T* u, double scale) const {
    const double norm = 1.0 / (static_cast<double>(in.validPixels) * in.classes);
    const int64_t units = in.batch;
    const int workers = workersFor(units, in.classes * in.pixels);
    std::vector<double> partial(workers, 0.0);
    parallelRanges(units, workers, [&](int w, int64_t begin, int64_t end) {
      std::vector<T> log1m(in.classes);
      double sum = 0.0;
      for (int64_t b = begin; b < end; ++b) sum += imageCrossEntropy(in, b, u, static_cast<T>(scale * norm), log1m);
      partial[w] = sum;
    });
    double total = 0.0;
    for (const double p : partial) total += p;
    return total * norm;
  }

  // Σ over image b's valid pixels of Σ_c −[β g ln p + (1 − β)(1 − g) ln(1 − p)]; u += s · its u.
  template <typename T>
  double imageCrossEntropy(const ActivatedBatch<T>& in, int64_t b, T* u, T s, std::vector<T>& log1m) const {
    const int K = in.classes;
    const int64_t N = in.pixels;
    const T beta = static_cast<T>(options.beta), negative = static_cast<T>(1.0 - options.beta);
    const int32_t* label = in.labelRow(b);
    double sum = 0.0;
    for (int64_t i = 0; i < N; ++i) {
      const int t = label[i];
      if (t < 0) continue;
      const auto p = [&](int c) { return in.probRow(b, c)[i]; };
      const auto logp = [&](int c) { return in.logProbRow(b, c)[i]; };
      const int dominant = in.normalized ? dominantClass(p, K) : -1;
      double term = -static_cast<double>(beta) * static_cast<double>(logp(t));
      for (int c = 0; c < K; ++c) {
        log1m[c] = c == dominant ? logSumExpOthers(logp, K, c) : log1mClamped(p(c));
        if (c != t) term -= static_cast<double>(negative) * static_cast<double>(log1m[c]);
      }
      sum += term;
      if (!u) continue;
      T* uPixel = u + b * K * N + i;  // + c · N
      uPixel[t * N] += -s * beta;
      if (in.normalized) {
        // Σ_{c ∉ {t, k}} p_k / (1 − p_c), with 1 / (1 − p_c) ≤ 2 except at the dominant class.
        T bounded = T(0);
        for (int c = 0; c < K; ++c) bounded += c != t && c != dominant ? T(1) / (T(1) - p(c)) : T(0);
        for (int k = 0; k < K; ++k) {
          const T own = k != t && k != dominant ? T(1) / (T(1) - p(k)) : T(0);
          T r = p(k) * (bounded - own);
          if (dominant >= 0 && dominant != t && dominant != k) r += std::exp(logp(k) - log1m[dominant]);
          uPixel[k * N] += -s * negative * r;
        }
      } else {
        for (int c = 0; c < K; ++c) {
          if (c != t) uPixel[c * N] += s * negative * p(c) / std::max(T(1) - p(c), ProbabilityFloor<T>::value);
        }
      }
    }
    return sum;
  }

  // The class with p ≥ ½ (at most one where the probabilities sum to 1), or −1.
  template <class P>
  static int dominantClass(const P& p, int K) {
    for (int c = 0; c < K; ++c) {
      if (p(c) >= 0.5) return c;
    }
    return -1;
  }

  // ln Σ_{k≠c} e^{log p_k} = ln(1 − p_c) where the probabilities sum to 1.
  template <class LogP>
  static auto logSumExpOthers(const LogP& logp, int K, int c) -> decltype(logp(0)) {
    using T = decltype(logp(0));
    T m = -HUGE_VAL;
    for (int k = 0; k < K; ++k) m = k != c && logp(k) > m ? logp(k) : m;
    T sum = T(0);
    for (int k = 0; k < K; ++k) sum += k != c ? std::exp(logp(k) - m) : T(0);
    return m + std::log(sum);
  }

  template <typename T>
  static T log1mClamped(T p) {
    return std::log(std::max(T(1) - p, ProbabilityFloor<T>::value));
  }

  // 1 − Dice (dice.h's head on the moments of the stored probabilities); u += scale · its u.
  template <typename T>
  double dicePart(const ActivatedBatch<T>& in, T* u, double scale) const {
    const int K = in.classes;
    const int64_t N = in.pixels;
    std::vector<double> moments(size_t(in.batch) * K * kMomentCount, 0.0);
    std::vector<double> dmoments(moments.size(), 0.0);
    for (int64_t b = 0; b < in.batch; ++b) {
      const int32_t* label = in.labelRow(b);
      for (int c = 0; c < K; ++c) {
        const T* p = in.probRow(b, c);
        double P = 0.0, PG = 0.0, G = 0.0;
        for (int64_t i = 0; i < N; ++i) {
          const double valid = label[i] >= 0 ? 1.0 : 0.0;
          const double g = label[i] == c ? 1.0 : 0.0;
          P += valid * static_cast<double>(p[i]);
          PG += g * static_cast<double>(p[i]);
          G += g;
        }
        double* m = moments.data() + (b * K + c) * kMomentCount;
        m[kMomentP] = P;
        m[kMomentPG] = PG;
        m[kMomentG] = G;
      }
    }
    const double value = dice.head(moments.data(), dmoments.data(), in.batch, K);
    if (!u) return value;
    for (int64_t b = 0; b < in.batch; ++b) {
      const int32_t* label = in.labelRow(b);
      for (int c = 0; c < K; ++c) {
        const double* d = dmoments.data() + (b * K + c) * kMomentCount;
        const T dP = static_cast<T>(scale * d[kMomentP]), dPG = static_cast<T>(scale * d[kMomentPG]);
        const T* p = in.probRow(b, c);
        T* uc = u + (b * K + c) * N;
        for (int64_t i = 0; i < N; ++i) {
          const T valid = label[i] >= 0 ? T(1) : T(0);
          const T g = label[i] == c ? T(1) : T(0);
          uc[i] += p[i] * (valid * dP + g * dPG);
        }
      }
    }
    return value;
  }
};

}  // namespace segloss
