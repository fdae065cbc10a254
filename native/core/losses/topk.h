// topk (spec 2; Wu et al. 2016, nnU-Net TopKLoss): per-pixel cross-entropy −log p_t, and the mean
// of the k % largest of them over the valid pixels of the whole batch; only those pixels get a
// gradient. Special family (special_batch.h): a selection over the batch's values; it reads only
// log p of the true class and writes only the true class's u ([B, N] buffers).
//   n = ⌊base · k / 100⌋ (at least 1), base = the valid pixels (default) or all B·N pixels
//   (countIgnored, preset nnunet: nnU-Net's num_voxels counts ignored pixels, whose CE is 0 there
//   and which can then be among the selected values).
//   τ = the n-th largest value; value = (Σ_{v > τ} v + (n − n_>)·τ) / n.
//   Gradient: u_t = p_t ∂value/∂p_t = −w / n (SpecialGrad::trueU) with w = 1 above τ, (n − n_>) / n_= at τ (ties share
//   the remaining slots: a subgradient independent of the order), 0 below.
// The selection is a radix select in three threaded passes over the [B, N] values (no copy of
// them): a histogram of the top 16 bits of each value's order-preserving key, the values of the
// one bin that holds τ gathered and partially sorted (std::nth_element over a few thousand), then
// one pass that sums the values above τ and writes the gradient. Large batches of topk alone take
// a one-pass path instead (losses.cpp, CpuDriver::runTopkOnePass), with the same numbers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <vector>

#include "../loss_family.h"
#include "../option_fields.h"
#include "../parallel_cpu.h"
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
    const Selection<T> selected = select(in);
    const double tieWeight = static_cast<double>(selected.n - selected.above) / static_cast<double>(selected.at);
    const double scale = factor / static_cast<double>(selected.n);
    const double sumAbove = sumAndGradient(in, grad.trueU, selected.tau, tieWeight, scale);
    return (sumAbove + static_cast<double>(selected.n - selected.above) * static_cast<double>(selected.tau)) /
           static_cast<double>(selected.n);
  }

 private:
  // The unsigned key of a value with the same order (IEEE: flip every bit of negatives, the sign
  // bit of the others); −0 and +0 get neighbouring keys, which only matters for equal values.
  template <typename T>
  using KeyOf = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  static constexpr int kBinBits = 16;
  static constexpr int64_t kBins = int64_t(1) << kBinBits;
  static constexpr int64_t kChunk = 1 << 14;  // values per work unit
  static constexpr int kSumLanes = 8;

  template <typename T>
  static KeyOf<T> orderKey(T v) {
    using K = KeyOf<T>;
    if (v == T(0)) v = T(0);  // −0 → +0: equal values, one key
    K bits;
    std::memcpy(&bits, &v, sizeof bits);
    const K sign = K(1) << (8 * sizeof(K) - 1);
    return (bits & sign) ? ~bits : (bits | sign);
  }
  template <typename T>
  static int64_t binOf(T v) {
    return static_cast<int64_t>(orderKey(v) >> (8 * sizeof(KeyOf<T>) - kBinBits));
  }

  template <typename T>
  struct Selection {
    T tau = T(0);
    int64_t n = 1;      // values selected
    int64_t above = 0;  // values > τ
    int64_t at = 0;     // values == τ
  };

  // The value of flat pixel j, and whether it is in the base (valid, or countIgnored).
  template <typename T>
  SEGLOSS_INLINE static T valueAt(const ActivatedBatch<T>& in, int64_t j) {
    return in.label[j] >= 0 ? -in.trueLogProb[j] : T(0);
  }
  bool inBase(int32_t label) const { return label >= 0 || options.countIgnored; }

  // τ, n, n_> and n_= of the batch's values (radix select on orderKey's top bits).
  template <typename T>
  Selection<T> select(const ActivatedBatch<T>& in) const {
    const int64_t total = in.batch * in.pixels;
    const int64_t units = (total + kChunk - 1) / kChunk;
    const int workers = workersFor(units, kChunk);
    std::vector<uint32_t> histograms(size_t(workers) * kBins, 0u);
    parallelRanges(units, workers, [&](int w, int64_t begin, int64_t end) {
      uint32_t* h = histograms.data() + size_t(w) * kBins;
      const int64_t stop = std::min(total, end * kChunk);
      for (int64_t j = begin * kChunk; j < stop; ++j) {
        if (inBase(in.label[j])) ++h[binOf(valueAt(in, j))];
      }
    });
    std::vector<int64_t> counts(kBins, 0);
    for (int w = 0; w < workers; ++w) {
      const uint32_t* h = histograms.data() + size_t(w) * kBins;
      for (int64_t k = 0; k < kBins; ++k) counts[k] += h[k];
    }
    int64_t base = 0;
    for (const int64_t c : counts) base += c;
    Selection<T> s;
    s.n = std::min<int64_t>(selectedCount(base), base);
    int64_t bin = kBins - 1, higher = 0;  // the bin holding the n-th largest; values in bins above it
    while (higher + counts[bin] < s.n) higher += counts[bin--];
    std::vector<T> candidates = binValues(in, bin, units, workers);
    const int64_t rank = s.n - higher;  // τ is the rank-th largest of the bin
    std::nth_element(candidates.begin(), candidates.begin() + (rank - 1), candidates.end(), std::greater<T>());
    s.tau = candidates[rank - 1];
    s.above = higher;
    for (const T v : candidates) {
      s.above += v > s.tau;
      s.at += v == s.tau;
    }
    return s;
  }

  // The base values whose bin is `bin`, in pixel order.
  template <typename T>
  std::vector<T> binValues(const ActivatedBatch<T>& in, int64_t bin, int64_t units, int workers) const {
    const int64_t total = in.batch * in.pixels;
    std::vector<std::vector<T>> parts(workers);
    parallelRanges(units, workers, [&](int w, int64_t begin, int64_t end) {
      const int64_t stop = std::min(total, end * kChunk);
      for (int64_t j = begin * kChunk; j < stop; ++j) {
        const T v = valueAt(in, j);
        if (inBase(in.label[j]) && binOf(v) == bin) parts[w].push_back(v);
      }
    });
    std::vector<T> all;
    for (const std::vector<T>& part : parts) all.insert(all.end(), part.begin(), part.end());
    return all;
  }

  // Σ_{valid, v > τ} v; with trueU, trueU −= scale · w at each valid pixel, w = 1 above τ,
  // tieWeight at τ. (Ignored pixels counted in the base have v = 0 and no gradient.)
  template <typename T>
  double sumAndGradient(const ActivatedBatch<T>& in, T* trueU, T tau, double tieWeight, double scale) const {
    const int64_t total = in.batch * in.pixels;
    const int64_t units = (total + kChunk - 1) / kChunk;
    const int workers = workersFor(units, kChunk);
    std::vector<double> partial(workers, 0.0);
    const T above = static_cast<T>(-scale), at = static_cast<T>(-scale * tieWeight);
    parallelRanges(units, workers, [&](int w, int64_t begin, int64_t end) {
      const int64_t start = begin * kChunk, stop = std::min(total, end * kChunk);
      const int32_t* __restrict label = in.label;
      const T* __restrict lpt = in.trueLogProb;
      const T t = tau, a = above, e = at;  // locals: captured references would be reloaded (no if-conversion)
      double lanes[kSumLanes] = {};  // independent sums: the loop vectorises without reassociation
      int64_t j0 = start;
      for (; j0 + kSumLanes <= stop; j0 += kSumLanes) {
        for (int l = 0; l < kSumLanes; ++l) {
          const T x = lpt[j0 + l];
          const T v = label[j0 + l] >= 0 ? -x : T(0);
          lanes[l] += v > t ? static_cast<double>(v) : 0.0;
        }
      }
      for (int64_t j = j0; j < stop; ++j) {
        const T x = lpt[j];
        const T v = label[j] >= 0 ? -x : T(0);
        lanes[0] += v > t ? static_cast<double>(v) : 0.0;
      }
      double sum = 0.0;
      for (int l = 0; l < kSumLanes; ++l) sum += lanes[l];
      partial[w] = sum;
      if (!trueU) return;
      T* __restrict u = trueU;
      for (int64_t j = start; j < stop; ++j) {
        const T v = -lpt[j];
        const T selected = v > t ? a : T(0);
        const T tied = v == t ? e : T(0);
        u[j] += label[j] >= 0 ? selected + tied : T(0);
      }
    });
    double sum = 0.0;
    for (const double p : partial) sum += p;
    return sum;
  }
};

}  // namespace segloss
