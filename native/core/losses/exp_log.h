// exp-log (spec 24; Wong et al. 2018, "3D segmentation with exponential logarithmic loss for highly
// unbalanced object sizes"):
//   value = w_dice · mean_c (−ln D_c)^γ + w_ce · (1/V) Σ_valid w_t (−ln p_t)^γ,  w_l = (Σ_k f_k / f_l)^½
// with D_c the Dice of `dice` ((2I + s)/(P + G + s), s = 1 by default, per group: the batch, or each
// image with perImage; classes from 1 without background) floored at 1e-6 before the log, and f_k the
// valid pixels of class k in the batch (the weights are constants of the target). Where −ln D_c or
// −ln p_t is 0 (a perfect class or pixel) the derivative of x^γ (γ < 1) is infinite: the subgradient
// 0 is used. Special family (special_batch.h): the Dice part is a head on the engine's region
// moments (moments(): summed by the Statistics pass, its gradient through the region
// coefficients), the label frequencies f_k are the moments' G; the cross-entropy part reads log p
// of the true class and writes its u, in parallel over chunks of pixels.
// Preset odyssey (SegLossOdyssey ExpLog_loss with SoftDiceLoss and WeightedCrossEntropyLoss defaults):
//   w_dice · (−ln max(mean_{b,c} D, 1e-6))^γ + w_ce · mean_x(−ln p_t): the exponent after the mean,
//   the cross-entropy unweighted and not exponentiated (odysseyForm), perImage, smooth 1.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../loss_family.h"
#include "../option_fields.h"
#include "../parallel_cpu.h"
#include "../region_moments.h"
#include "../special_batch.h"
#include "../vector_kernels.h"
#include "region_classes.h"

namespace segloss {

struct ExpLogOptions {
  double wDice = 0.8;             // the Dice part's weight
  double wCe = 0.2;               // the cross-entropy part's weight
  double gamma = 0.3;             // γ > 0, the exponent
  bool perImage = false;          // Dice per image
  bool includeBackground = true;  // Dice keeps class 0
  double smooth = 1.0;            // Dice's s
  bool odysseyForm = false;       // (−ln mean D)^γ and a plain cross-entropy (preset odyssey)

  static constexpr auto fields() {
    return std::tuple{optionField("wDice", &ExpLogOptions::wDice), optionField("wCe", &ExpLogOptions::wCe),
                      optionField("gamma", &ExpLogOptions::gamma), optionField("perImage", &ExpLogOptions::perImage),
                      optionField("includeBackground", &ExpLogOptions::includeBackground),
                      optionField("smooth", &ExpLogOptions::smooth), optionField("odysseyForm", &ExpLogOptions::odysseyForm)};
  }
  // The broken invariant, or nullptr.
  const char* invalid() const {
    if (!(gamma > 0.0) || gamma == HUGE_VAL) return "gamma is not a finite number > 0";
    if (!std::isfinite(wDice) || !std::isfinite(wCe)) return "wDice or wCe is not finite";
    if (!(smooth >= 0.0)) return "smooth is negative";
    return nullptr;
  }
};

struct ExpLogLoss {
  static constexpr LossFamily kFamily = LossFamily::Special;
  static constexpr const char* kId = "exp-log";
  using Options = ExpLogOptions;
  static constexpr double kDiceFloor = 1e-6;
  ExpLogOptions options;

  ExpLogLoss() = default;
  ExpLogLoss(const Options& o, const LossContext&) : options(o) {}

  SpecialNeeds needs() const { return SpecialNeeds{.trueLogProb = true}; }
  MomentMask moments() const { return momentBit(kMomentP) | momentBit(kMomentPG) | momentBit(kMomentG); }

  template <typename T>
  double run(const ActivatedBatch<T>& in, const SpecialGrad<T>& grad, double factor) const {
    const double dice = dicePart(in, grad.dmoments, factor * options.wDice);
    const double ce = crossEntropyPart(in, grad.trueU, factor * options.wCe);
    return options.wDice * dice + options.wCe * ce;
  }

  // x^γ and d x^γ / dx (0 where x ≤ 0).
  static double power(double x, double gamma, double& derivative) {
    if (!(x > 0.0)) {
      derivative = 0.0;
      return 0.0;
    }
    const double value = std::pow(x, gamma);
    derivative = gamma * value / x;
    return value;
  }

  // One (group, class) of the default Dice part: (−ln max(D, floor))^γ and its derivatives by I and P.
  struct DiceTerm {
    const ExpLogOptions& o;
    double operator()(const PooledMoments& s, double* d) const {
      const double D = dice(s, d);
      const bool floored = D < kDiceFloor;
      double dx;
      const double term = power(-std::log(floored ? kDiceFloor : D), o.gamma, dx);
      const double dTerm = floored ? 0.0 : -dx / D;  // d term / d D
      d[kMomentPG] *= dTerm;
      d[kMomentP] *= dTerm;
      return term;
    }
    // D = (2I + s)/(P + G + s); writes d D / d I, d D / d P into d.
    double dice(const PooledMoments& s, double* d) const {
      const double num = 2.0 * s.m[kMomentPG] + o.smooth;
      const double den = s.m[kMomentP] + s.m[kMomentG] + o.smooth;
      if (!(den > 0.0)) {
        d[kMomentPG] = d[kMomentP] = 0.0;
        return 1.0;
      }
      d[kMomentPG] = 2.0 / den;
      d[kMomentP] = -num / (den * den);
      return num / den;
    }
  };

  // The mean Dice D̄ (odyssey): the same Dice, its mean over groups and classes.
  struct MeanDiceTerm {
    const DiceTerm& dice;
    double operator()(const PooledMoments& s, double* d) const { return dice.dice(s, d); }
  };

 private:
  static constexpr int64_t kChunk = 1 << 14;  // pixels per work unit of the cross-entropy part

  // The Dice part on the engine's moments; dmoments += scale · its d value / d moments.
  template <typename T>
  double dicePart(const ActivatedBatch<T>& in, double* dmoments, double scale) const {
    const int K = in.classes;
    std::vector<double> d(size_t(in.batch) * K * kMomentCount, 0.0);
    const DiceTerm term{options};
    double value;
    if (options.odysseyForm) {
      const double mean = meanClassTerms(MeanDiceTerm{term}, in.moments, d.data(), in.batch, K, options.perImage,
                                         options.includeBackground);
      const bool floored = mean < kDiceFloor;
      double dx;
      value = power(-std::log(floored ? kDiceFloor : mean), options.gamma, dx);
      scaleMoments(d.data(), in.batch, K, floored ? 0.0 : -dx / mean);
    } else {
      value = meanClassTerms(term, in.moments, d.data(), in.batch, K, options.perImage, options.includeBackground);
    }
    if (dmoments) {
      for (size_t k = 0; k < d.size(); ++k) dmoments[k] += scale * d[k];
    }
    return value;
  }

  // (1/V) Σ_valid w_t x_t^γ, x = −ln p_t (odyssey: (1/V) Σ x_t); trueU += scale · its u_t.
  template <typename T>
  double crossEntropyPart(const ActivatedBatch<T>& in, T* trueU, double scale) const {
    const int K = in.classes;
    const int64_t n = in.batch * in.pixels;
    std::vector<double> frequency(K, 0.0), weight(K, 1.0);  // f_k: the moments' G summed over the images
    for (int64_t b = 0; b < in.batch; ++b) {
      for (int c = 0; c < K; ++c) frequency[c] += in.moments[(b * K + c) * kMomentCount + kMomentG];
    }
    const double V = static_cast<double>(in.validPixels);
    if (!options.odysseyForm) {
      for (int c = 0; c < K; ++c) weight[c] = frequency[c] > 0.0 ? std::sqrt(V / frequency[c]) : 0.0;
    }
    std::vector<double> uFactor(K);  // u_t = −w_t · d(x^γ)/dx · scale / V = uFactor[t] · d(x^γ)/dx
    for (int c = 0; c < K; ++c) uFactor[c] = -scale * weight[c] / V;
    const int64_t units = (n + kChunk - 1) / kChunk;
    const int workers = workersFor(units, kChunk * 8);
    std::vector<double> partial(workers, 0.0);
    const T gamma = static_cast<T>(options.gamma);
    // x^γ of a unit's pixels, one row per worker (allocated here: a pool worker must not throw)
    std::vector<T> powerRows(options.odysseyForm ? 0 : static_cast<size_t>(workers) * kChunk);
    parallelRanges(units, workers, [&](int w, int64_t begin, int64_t end) {
      T* powers = powerRows.data() + static_cast<size_t>(w) * (options.odysseyForm ? 0 : kChunk);
      double sum = 0.0;
      for (int64_t unit = begin; unit < end; ++unit) {
        const int64_t j0 = unit * kChunk, j1 = std::min(n, j0 + kChunk);
        if (!options.odysseyForm) negatedLogPowersCpu(in.trueLogProb + j0, j1 - j0, gamma, powers);
        for (int64_t j = j0; j < j1; ++j) {
          const int t = in.label[j];
          if (t < 0) continue;
          const double x = -static_cast<double>(in.trueLogProb[j]);
          const double term = options.odysseyForm ? x : static_cast<double>(powers[j - j0]);
          const double dx = options.odysseyForm ? 1.0 : (x > 0.0 ? options.gamma * term / x : 0.0);  // d(x^γ)/dx
          sum += weight[t] * term;
          if (trueU) trueU[j] += static_cast<T>(uFactor[t] * dx);  // u_t = p_t · d/dp_t = −w · d(x^γ)/dx
        }
      }
      partial[w] = sum;
    });
    double sum = 0.0;
    for (const double p : partial) sum += p;
    return sum / V;
  }
};

}  // namespace segloss
