// topk (spec 2; Wu et al. 2016, nnU-Net TopKLoss): per-pixel cross-entropy −log p_t, and the mean
// of the k % largest of them over the valid pixels of the whole batch; only those pixels get a
// gradient. Special family (special_batch.h): a selection over the batch's values; it reads only
// log p of the true class and writes only the true class's u ([B, N] buffers).
//   n = ⌊base · k / 100⌋ (at least 1), base = the valid pixels (default) or all B·N pixels
//   (countIgnored, preset nnunet: nnU-Net's num_voxels counts ignored pixels, whose CE is 0 there
//   and which can then be among the selected values).
//   τ = the n-th largest value (std::nth_element, O(B·N)); value = (Σ_{v > τ} v + (n − n_>)·τ) / n.
//   Gradient: u_t = p_t ∂value/∂p_t = −w / n (SpecialGrad::trueU) with w = 1 above τ, (n − n_>) / n_= at τ (ties share
//   the remaining slots: a subgradient independent of the order), 0 below.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "../loss_family.h"
#include "../option_fields.h"
#include "../special_batch.h"

namespace segloss {

struct TopKOptions {
  double k = 10.0;            // percent of the base kept, in (0, 100]
  bool countIgnored = false;  // nnunet: the base counts ignored pixels (as values 0)

  static constexpr auto fields() {
    return std::tuple{optionField("k", &TopKOptions::k), optionField("countIgnored", &TopKOptions::countIgnored)};
  }
  // The broken invariant, or nullptr.
  const char* invalid() const {
    if (!(k > 0.0 && k <= 100.0)) return "k is not in (0, 100]";
    return nullptr;
  }
};

struct TopKLoss {
  static constexpr LossFamily kFamily = LossFamily::Special;
  static constexpr const char* kId = "topk";
  using Options = TopKOptions;
  TopKOptions options;

  TopKLoss() = default;
  TopKLoss(const Options& o, const LossContext&) : options(o) {}

  SpecialNeeds needs() const { return SpecialNeeds{.trueLogProb = true}; }

  // The selected count n for a base of `base` values (nnU-Net: int(num_voxels * k / 100)).
  int64_t selectedCount(int64_t base) const {
    const auto n = static_cast<int64_t>(std::floor(static_cast<double>(base) * options.k / 100.0));
    return std::max<int64_t>(n, 1);
  }

  template <typename T>
  double run(const ActivatedBatch<T>& in, const SpecialGrad<T>& grad, double factor) const {
    std::vector<T> values = pixelValues(in);
    const int64_t n = std::min<int64_t>(selectedCount(static_cast<int64_t>(values.size())), values.size());
    std::nth_element(values.begin(), values.begin() + (n - 1), values.end(), std::greater<T>());
    const T tau = values[n - 1];
    int64_t above = 0, at = 0;
    double sumAbove = 0.0;
    for (const T v : values) {
      above += v > tau;
      at += v == tau;
      sumAbove += v > tau ? static_cast<double>(v) : 0.0;
    }
    const double value = (sumAbove + static_cast<double>(n - above) * static_cast<double>(tau)) / static_cast<double>(n);
    if (grad.trueU) addGradient(in, grad.trueU, tau, static_cast<double>(n - above) / static_cast<double>(at), factor / static_cast<double>(n));
    return value;
  }

 private:
  // −log p_t of every valid pixel (and 0 for each ignored one when countIgnored).
  template <typename T>
  std::vector<T> pixelValues(const ActivatedBatch<T>& in) const {
    std::vector<T> values;
    values.reserve(options.countIgnored ? in.batch * in.pixels : in.validPixels);
    for (int64_t b = 0; b < in.batch; ++b) {
      const int32_t* label = in.labelRow(b);
      const T* trueLogProb = in.trueLogProb + b * in.pixels;
      for (int64_t i = 0; i < in.pixels; ++i) {
        if (label[i] >= 0) values.push_back(-trueLogProb[i]);
        else if (options.countIgnored) values.push_back(T(0));
      }
    }
    return values;
  }

  // trueU −= scale · w at each valid pixel, w = 1 above τ, tieWeight at τ.
  template <typename T>
  void addGradient(const ActivatedBatch<T>& in, T* trueU, T tau, double tieWeight, double scale) const {
    const T above = static_cast<T>(-scale), at = static_cast<T>(-scale * tieWeight);
    const int64_t n = in.batch * in.pixels;
    for (int64_t j = 0; j < n; ++j) {
      const T v = -in.trueLogProb[j];
      const T selected = v > tau ? above : T(0);
      const T tied = v == tau ? at : T(0);
      trueU[j] += in.label[j] >= 0 ? selected + tied : T(0);
    }
  }
};

}  // namespace segloss
