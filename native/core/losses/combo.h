// combo (spec 23; Taghanaki et al. 2019): α·WCE_β + (1 − α)·(1 − Dice), α = β = 0.5, with
//   WCE_β = (1 / (V·K)) Σ_valid Σ_c −[β g_c ln p_c + (1 − β)(1 − g_c) ln(1 − p_c)]
// (V valid pixels, K classes; β weighs false negatives against false positives) and Dice the `dice`
// loss (dice.h) with its perImage, includeBackground and smooth. Special family (special_batch.h),
// with nothing stored per pixel: the Dice part is dice.h's head on the engine's region moments
// (moments(): the Statistics pass sums them with the region terms', and its gradient goes through
// the region coefficients), and the cross-entropy part is a tile part (kTilePart: its per-pixel
// values and u computed inside the engine's tile passes from the tile's p and log p rows).
//
// ln(1 − p_c) and the gradient stay finite for saturated probabilities: where the probabilities
// sum to 1 (softmax, C = 1), ln(1 − p_c) = ln Σ_{k≠c} p_k is taken as log(1 − p_c) when p_c < ½
// and as logsumexp_{k≠c} log p_k for the one class with p_c ≥ ½ (the dominant class d); and
// u = p · ∂value/∂p is written in the bounded form of the same identity: the term
// −ln(1 − p_c) = −ln Σ_{k≠c} p_k gives u_k = −p_k / (1 − p_c) for k ≠ c (each ≤ 1 in magnitude,
// computed for c = d as e^{log p_k − ln(1 − p_d)}) and 0 for k = c, which the softmax Jacobian maps
// to the exact logit gradient. Independent sigmoids and 'none' use ln max(1 − p_c, floor) and
// u_c = p_c / max(1 − p_c, floor).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../loss_family.h"
#include "../host_device.h"
#include "../math.h"
#include "../option_fields.h"
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

  SpecialNeeds needs() const { return SpecialNeeds{}; }  // nothing stored: a tile part and a moments part
  MomentMask moments() const { return dice.moments(); }
  static constexpr bool kTilePart = true;
  static constexpr bool kTileLogProb = true;

  template <typename T>
  double run(const ActivatedBatch<T>& in, const SpecialGrad<T>& grad, double factor) const {
    const double norm = 1.0 / (static_cast<double>(in.validPixels) * in.classes);
    if (grad.tileGradScale) *grad.tileGradScale = factor * options.alpha * norm;
    const double ce = in.tileSum * norm;
    const double diceValue = dicePart(in, grad.dmoments, factor * (1.0 - options.alpha));
    return options.alpha * ce + (1.0 - options.alpha) * diceValue;
  }

  // The tile's Σ over valid pixels of Σ_c −[β g ln p + (1 − β)(1 − g) ln(1 − p)] (when `values`);
  // with u, u += s · its p · ∂/∂p. Rows: dom (the dominant class as T, −1 for none), ld
  // (ln(1 − p_dom)), bounded (Σ_{c ∉ {t, dom}} 1 / (1 − p_c)), tmp.
  template <class Math, typename T>
  SEGLOSS_INLINE double tileTerm(const SpecialTileRows<T>& rows, int classes, int n, bool normalized, bool values,
                                 T* u, T s) const {
    const int S = rows.stride;
    T* __restrict dom = rows.scratch[0];
    T* __restrict ld = rows.scratch[1];
    T* __restrict bounded = rows.scratch[2];
    const int32_t* __restrict label = rows.label;
    const T beta = static_cast<T>(options.beta), negative = static_cast<T>(1.0 - options.beta);
    for (int j = 0; j < n; ++j) dom[j] = T(-1);
    for (int j = 0; j < n; ++j) ld[j] = T(0);
    if (normalized) dominantLog1m<Math>(rows, classes, n, dom, ld, rows.scratch[3]);
    double value = 0.0;
    if (values) value = tileValue<Math>(rows, classes, n, dom, ld, beta, negative, rows.scratch[3]);
    if (!u) return value;
    constexpr T floor = ProbabilityFloor<T>::value;
    if (!normalized) {
      for (int k = 0; k < classes; ++k) {
        const T* __restrict pk = rows.prob + k * S;
        T* __restrict uk = u + k * S;
        for (int j = 0; j < n; ++j) {
          const T q = T(1) - pk[j];
          const T qf = q > floor ? q : floor;
          const T add = label[j] == k ? -s * beta : s * negative * pk[j] / qf;
          uk[j] += label[j] >= 0 ? add : T(0);
        }
      }
      return value;
    }
    for (int j = 0; j < n; ++j) bounded[j] = T(0);
    for (int c = 0; c < classes; ++c) {
      const T* __restrict pc = rows.prob + c * S;
      const T fc = static_cast<T>(c);
      for (int j = 0; j < n; ++j) {
        const bool own = (label[j] != c) & (fc != dom[j]);
        const T inv = T(1) / (T(1) - pc[j]);
        bounded[j] += own ? inv : T(0);
      }
    }
    for (int k = 0; k < classes; ++k) {
      const T* __restrict pk = rows.prob + k * S;
      const T* __restrict lk = rows.logProb + k * S;
      const T fk = static_cast<T>(k);
      T* __restrict uk = u + k * S;
      for (int j = 0; j < n; ++j) {
        const bool ownSelected = (label[j] != k) & (fk != dom[j]);
        const T inv = T(1) / (T(1) - pk[j]);
        const T own = ownSelected ? inv : T(0);
        const bool viaDominant = (dom[j] >= T(0)) & (dom[j] != static_cast<T>(label[j])) & (dom[j] != fk);
        const T e = Math::exp(lk[j] - ld[j]);
        const T r = pk[j] * (bounded[j] - own) + (viaDominant ? e : T(0));
        const T truth = label[j] == k ? -s * beta : T(0);
        const T add = truth - s * negative * r;
        uk[j] += label[j] >= 0 ? add : T(0);
      }
    }
    return value;
  }

 private:
  static constexpr int kLanes = 16;  // independent partial sums (the tiles are padded to a multiple)

  // dom = the class with p ≥ ½ (at most one where the probabilities sum to 1; the first), and
  // ld = ln Σ_{k≠dom} e^{log p_k} = ln(1 − p_dom) there (the largest term taken out: no underflow).
  template <class Math, typename T>
  SEGLOSS_INLINE static void dominantLog1m(const SpecialTileRows<T>& rows, int classes, int n, T* __restrict dom,
                                           T* __restrict ld, T* __restrict sum) {
    const int S = rows.stride;
    for (int c = 0; c < classes; ++c) {
      const T* __restrict pc = rows.prob + c * S;
      const T fc = static_cast<T>(c);
      for (int j = 0; j < n; ++j) {
        const bool take = (dom[j] < T(0)) & (pc[j] >= T(0.5));
        dom[j] = take ? fc : dom[j];
      }
    }
    unsigned any = 0;
    for (int j = 0; j < n; ++j) any |= static_cast<unsigned>(dom[j] >= T(0));
    if (any == 0) return;
    for (int j = 0; j < n; ++j) ld[j] = -HUGE_VAL;
    for (int c = 0; c < classes; ++c) {
      const T* __restrict lc = rows.logProb + c * S;
      const T fc = static_cast<T>(c);
      for (int j = 0; j < n; ++j) {
        const bool larger = (fc != dom[j]) & (lc[j] > ld[j]);
        ld[j] = larger ? lc[j] : ld[j];
      }
    }
    for (int j = 0; j < n; ++j) sum[j] = T(0);
    for (int c = 0; c < classes; ++c) {
      const T* __restrict lc = rows.logProb + c * S;
      const T fc = static_cast<T>(c);
      for (int j = 0; j < n; ++j) {
        const T e = Math::exp(lc[j] - ld[j]);
        sum[j] += fc != dom[j] ? e : T(0);
      }
    }
    for (int j = 0; j < n; ++j) ld[j] += Math::log(sum[j]);
    for (int j = 0; j < n; ++j) ld[j] = dom[j] >= T(0) ? ld[j] : T(0);
  }

  // Σ over the tile's valid pixels of −β ln p_t − (1 − β) Σ_{c≠t} ln(1 − p_c); acc: a scratch row.
  template <class Math, typename T>
  SEGLOSS_INLINE static double tileValue(const SpecialTileRows<T>& rows, int classes, int n, const T* __restrict dom,
                                         const T* __restrict ld, T beta, T negative, T* __restrict acc) {
    const int S = rows.stride;
    const int32_t* __restrict label = rows.label;
    constexpr T floor = ProbabilityFloor<T>::value;
    for (int j = 0; j < n; ++j) acc[j] = T(0);
    for (int c = 0; c < classes; ++c) {
      const T* __restrict pc = rows.prob + c * S;
      const T* __restrict lc = rows.logProb + c * S;
      const T fc = static_cast<T>(c);
      for (int j = 0; j < n; ++j) {
        const T q = T(1) - pc[j];
        const T qf = q > floor ? q : floor;
        const T log1m = Math::log(qf);
        const T L = fc == dom[j] ? ld[j] : log1m;
        const T term = label[j] == c ? -beta * lc[j] : -negative * L;
        acc[j] += label[j] >= 0 ? term : T(0);
      }
    }
    T lanes[kLanes] = {};
    for (int j0 = 0; j0 < n; j0 += kLanes) {
      for (int l = 0; l < kLanes; ++l) lanes[l] += acc[j0 + l];
    }
    double total = 0.0;
    for (int l = 0; l < kLanes; ++l) total += static_cast<double>(lanes[l]);
    return total;
  }

 private:
  // 1 − Dice: dice.h's head on the engine's moments; dmoments += scale · its d value / d moments.
  template <typename T>
  double dicePart(const ActivatedBatch<T>& in, double* dmoments, double scale) const {
    std::vector<double> d(size_t(in.batch) * in.classes * kMomentCount, 0.0);
    const double value = dice.head(in.moments, d.data(), in.batch, in.classes);
    if (dmoments) {
      for (size_t k = 0; k < d.size(); ++k) dmoments[k] += scale * d[k];
    }
    return value;
  }
};

}  // namespace segloss
