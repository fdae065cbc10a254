// lovasz-softmax (spec 9; Berman, Rannen Triki & Blaschko 2018): per class c of a group (the
// batch, or each image with perImage), the errors e_i = |g_ic − p_ic| over the valid pixels sorted
// in decreasing order, and
//   loss_c = Σ_r e_(r) · ΔJ_r,   ΔJ_r = J_r − J_{r−1},   J_r = 1 − (G − F_r) / (G + B_r)
// with G the class's pixels, F_r / B_r the class / other pixels among the r largest errors (the
// Lovász extension of the Jaccard loss; reference lovasz_grad). The group's value is the mean of
// loss_c over its classes ('present': those with G > 0; 'all'; or a list), 0 when it counts none;
// perImage averages over the B images (an image with no valid pixel counts as 0, the released
// code's intent). Special family (special_batch.h): one sort per (group, class).
//   ∂loss_c / ∂p_i = ΔJ_{rank(i)} · (g_i ? −1 : +1)  (a subgradient where errors tie).
// Sort: float32 errors are non-negative, so their bits order as integers: one 64-bit word per
// pixel, (~bits << 32) | fg << 31 | offset, sorted by an LSD radix sort on the high word (3 passes
// of 11 bits, a pass skipped when all its digits agree); the walk reads the error back from the
// key and scatters ∂loss/∂p (SpecialGrad::dprob; the engine multiplies by p). float64 uses
// std::stable_sort on (error, fg | offset). Offsets need B·K·N < 2^31 (checked by the driver).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "../loss_family.h"
#include "../option_fields.h"
#include "../parallel_cpu.h"
#include "../special_batch.h"

namespace segloss {

struct LovaszSoftmaxOptions {
  bool presentOnly = true;  // 'present': classes absent from the group are skipped
  DoubleArray classList;    // the classes averaged (a list), or empty (every class)
  bool perImage = false;    // one group per image, mean over images

  static constexpr auto fields() {
    return std::tuple{optionField("presentOnly", &LovaszSoftmaxOptions::presentOnly),
                      optionField("classList", &LovaszSoftmaxOptions::classList),
                      optionField("perImage", &LovaszSoftmaxOptions::perImage)};
  }
  // The broken invariant, or nullptr.
  const char* invalid() const {
    for (const double c : classList.values) {
      if (!(c >= 0.0 && c < 65536.0) || c != std::floor(c)) return "classList holds a value that is not a class index";
    }
    return nullptr;
  }
};

namespace lovasz {

// Sorts words (64-bit: key in the high half) by their high half, ascending; `spare` is scratch of
// the same size. Stable LSD radix sort, 11-bit digits; a pass whose digits all agree is skipped.
inline void radixSortHighWords(std::vector<uint64_t>& words, std::vector<uint64_t>& spare) {
  constexpr int kBits = 11;
  constexpr uint32_t kBuckets = 1u << kBits;
  spare.resize(words.size());
  std::vector<uint32_t> counts(kBuckets);
  for (int shift = 32; shift < 64; shift += kBits) {
    std::fill(counts.begin(), counts.end(), 0u);
    for (const uint64_t w : words) ++counts[(w >> shift) & (kBuckets - 1)];
    if (std::find(counts.begin(), counts.end(), static_cast<uint32_t>(words.size())) != counts.end()) continue;
    uint32_t offset = 0;
    for (uint32_t& c : counts) {
      const uint32_t n = c;
      c = offset;
      offset += n;
    }
    for (const uint64_t w : words) spare[counts[(w >> shift) & (kBuckets - 1)]++] = w;
    words.swap(spare);
  }
}

// A sorted entry's pixel: o = b · K · N + i (the offset of class 0's entry in [B, K, N]) in the low
// 31 bits, whether the pixel is of the class in bit 31.
inline constexpr uint64_t kOffsetMask = 0x7fffffffu;
inline constexpr uint64_t kForegroundBit = 0x80000000u;

// Per-worker scratch of one (group, class) sort.
template <typename T>
struct Scratch {
  std::vector<uint64_t> words, spare;            // float: (~error bits << 32) | fg << 31 | o
  std::vector<std::pair<T, uint64_t>> pairs;     // double: (error, fg << 31 | o)
};

}  // namespace lovasz

struct LovaszSoftmaxLoss {
  static constexpr LossFamily kFamily = LossFamily::Special;
  static constexpr const char* kId = "lovasz-softmax";
  using Options = LovaszSoftmaxOptions;
  LovaszSoftmaxOptions options;
  std::vector<int> classList;  // the classes averaged (list entries below K, or 0 … K − 1)

  LovaszSoftmaxLoss() = default;
  LovaszSoftmaxLoss(const Options& o, const LossContext& context) : options(o) {
    for (const double c : o.classList.values) {
      if (c < context.classes) classList.push_back(static_cast<int>(c));
    }
    if (o.classList.empty()) {
      for (int c = 0; c < context.classes; ++c) classList.push_back(c);
    }
  }

  SpecialNeeds needs() const { return SpecialNeeds{.prob = true, .dprob = true}; }

  template <typename T>
  double run(const ActivatedBatch<T>& in, const SpecialGrad<T>& grad, double factor) const {
    if (in.batch * in.classes * in.pixels >= (int64_t(1) << 31)) {
      throw std::length_error("lovasz-softmax: B·K·N must be below 2^31 (the sort packs pixel offsets in 31 bits)");
    }
    const int64_t groups = options.perImage ? in.batch : 1;
    const int64_t perGroup = options.perImage ? 1 : in.batch;
    const int64_t listed = static_cast<int64_t>(classList.size());
    // Pixels of each (group, listed class) and the classes each group counts.
    std::vector<int64_t> classPixels(groups * listed, 0);
    std::vector<int64_t> counted(groups, 0);
    countClasses(in, perGroup, classPixels);
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t k = 0; k < listed; ++k) counted[g] += !options.presentOnly || classPixels[g * listed + k] > 0;
    }
    std::vector<double> losses(groups * listed, 0.0);
    const int64_t jobs = groups * listed;
    const int workers = static_cast<int>(std::min<int64_t>(jobs, workersFor(jobs, perGroup * in.pixels)));
    parallelRanges(jobs, workers, [&](int, int64_t begin, int64_t end) {
      lovasz::Scratch<T> scratch;
      for (int64_t job = begin; job < end; ++job) {
        const int64_t g = job / listed;
        if (counted[g] == 0 || (options.presentOnly && classPixels[job] == 0)) continue;
        const double weight = factor / (static_cast<double>(groups) * static_cast<double>(counted[g]));
        losses[job] = classLoss(in, g * perGroup, perGroup, classList[job % listed], classPixels[job], grad.dprob, weight, scratch);
      }
    });
    double value = 0.0;
    for (int64_t g = 0; g < groups; ++g) {
      if (counted[g] == 0) continue;
      double sum = 0.0;
      for (int64_t k = 0; k < listed; ++k) sum += losses[g * listed + k];
      value += sum / static_cast<double>(counted[g]);
    }
    return value / static_cast<double>(groups);
  }

 private:
  // classPixels[g · listed + k]: valid pixels of listed class k in group g.
  template <typename T>
  void countClasses(const ActivatedBatch<T>& in, int64_t perGroup, std::vector<int64_t>& classPixels) const {
    std::vector<int64_t> histogram(in.classes);
    const int64_t listed = static_cast<int64_t>(classList.size());
    for (int64_t b = 0; b < in.batch; ++b) {
      if (b % perGroup == 0) std::fill(histogram.begin(), histogram.end(), 0);
      const int32_t* label = in.labelRow(b);
      for (int64_t i = 0; i < in.pixels; ++i) {
        if (label[i] >= 0) ++histogram[label[i]];
      }
      if ((b + 1) % perGroup != 0) continue;
      for (int64_t k = 0; k < listed; ++k) classPixels[(b / perGroup) * listed + k] = histogram[classList[k]];
    }
  }

  // loss_c of class c over images [b0, b0 + count); adds weight · ∂loss_c/∂p to dprob's class-c
  // entries (dprob [B, K, N], or nullptr).
  template <typename T>
  double classLoss(const ActivatedBatch<T>& in, int64_t b0, int64_t count, int c, int64_t classCount, T* dprob,
                   double weight, lovasz::Scratch<T>& scratch) const {
    const double G = static_cast<double>(classCount);
    double F = 0.0, Bk = 0.0, previous = 0.0, loss = 0.0;
    T* dc = dprob ? dprob + int64_t(c) * in.pixels : nullptr;  // + o: the pixel's class-c entry
    const auto step = [&](double e, uint64_t entry) {
      const bool fg = (entry & lovasz::kForegroundBit) != 0;
      F += fg ? 1.0 : 0.0;
      Bk += fg ? 0.0 : 1.0;
      const double jaccard = 1.0 - (G - F) / (G + Bk);
      const double delta = jaccard - previous;
      previous = jaccard;
      loss += e * delta;
      if (dc) dc[entry & lovasz::kOffsetMask] += static_cast<T>(fg ? -weight * delta : weight * delta);
    };
    if constexpr (sizeof(T) == sizeof(float)) {
      gatherWords(in, b0, count, c, scratch.words);
      lovasz::radixSortHighWords(scratch.words, scratch.spare);
      for (const uint64_t w : scratch.words) {
        const uint32_t bits = ~static_cast<uint32_t>(w >> 32);
        float e;
        std::memcpy(&e, &bits, sizeof e);
        step(static_cast<double>(e), w);
      }
    } else {
      gatherPairs(in, b0, count, c, scratch.pairs);
      std::stable_sort(scratch.pairs.begin(), scratch.pairs.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
      for (const auto& [e, entry] : scratch.pairs) step(static_cast<double>(e), entry);
    }
    return loss;
  }

  // words ← one per valid pixel of images [b0, b0 + count): (~bits(e) << 32) | fg << 31 | o, with
  // e = |g − p_c| ≥ 0 (whose bits order as the errors do).
  template <typename T>
  void gatherWords(const ActivatedBatch<T>& in, int64_t b0, int64_t count, int c, std::vector<uint64_t>& words) const {
    words.resize(static_cast<size_t>(count * in.pixels));
    size_t n = 0;
    for (int64_t b = b0; b < b0 + count; ++b) {
      const int32_t* __restrict label = in.labelRow(b);
      const T* __restrict p = in.probRow(b, c);
      const uint64_t base = static_cast<uint64_t>(b * in.classes * in.pixels);
      for (int64_t i = 0; i < in.pixels; ++i) {
        const bool fg = label[i] == c;
        const float e = std::fabs((fg ? 1.0f : 0.0f) - static_cast<float>(p[i]));
        uint32_t bits;
        std::memcpy(&bits, &e, sizeof bits);
        words[n] = (static_cast<uint64_t>(~bits) << 32) | (fg ? lovasz::kForegroundBit : 0u) | (base + static_cast<uint64_t>(i));
        n += label[i] >= 0;
      }
    }
    words.resize(n);
  }

  template <typename T>
  void gatherPairs(const ActivatedBatch<T>& in, int64_t b0, int64_t count, int c, std::vector<std::pair<T, uint64_t>>& pairs) const {
    pairs.clear();
    for (int64_t b = b0; b < b0 + count; ++b) {
      const int32_t* label = in.labelRow(b);
      const T* p = in.probRow(b, c);
      const uint64_t base = static_cast<uint64_t>(b * in.classes * in.pixels);
      for (int64_t i = 0; i < in.pixels; ++i) {
        if (label[i] < 0) continue;
        const bool fg = label[i] == c;
        pairs.emplace_back(std::fabs((fg ? T(1) : T(0)) - p[i]), (fg ? lovasz::kForegroundBit : 0u) | (base + static_cast<uint64_t>(i)));
      }
    }
  }
};

}  // namespace segloss
