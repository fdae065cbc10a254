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
// pixel, (~bits << 32) | index, sorted by an LSD radix sort on the high word (3 passes of 11 bits,
// a pass skipped when all its digits agree); float64 uses std::sort on (error, index).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
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
// the same size. Stable LSD radix sort, 11-bit digits.
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

// One sorted entry: the pixel's index within its group and whether it is of the class.
struct Ranked {
  uint32_t index;
  bool fg;
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

  bool needsLogProb() const { return false; }

  template <typename T>
  double run(const ActivatedBatch<T>& in, T* u, double factor) const {
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
      std::vector<uint64_t> words, spare;
      std::vector<lovasz::Ranked> ranked;
      for (int64_t job = begin; job < end; ++job) {
        const int64_t g = job / listed;
        if (counted[g] == 0 || (options.presentOnly && classPixels[job] == 0)) continue;
        const double weight = factor / (static_cast<double>(groups) * static_cast<double>(counted[g]));
        losses[job] = classLoss(in, g * perGroup, perGroup, classList[job % listed], classPixels[job], u, weight, words,
                                spare, ranked);
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

  // loss_c of class c over images [b0, b0 + count); adds weight · p · ∂loss_c/∂p to u's class-c rows.
  template <typename T>
  double classLoss(const ActivatedBatch<T>& in, int64_t b0, int64_t count, int c, int64_t classCount, T* u,
                   double weight, std::vector<uint64_t>& words, std::vector<uint64_t>& spare,
                   std::vector<lovasz::Ranked>& ranked) const {
    sortErrors(in, b0, count, c, words, spare, ranked);
    const double G = static_cast<double>(classCount);
    double F = 0.0, Bk = 0.0, previous = 0.0, loss = 0.0;
    for (const lovasz::Ranked& r : ranked) {
      const int64_t b = b0 + r.index / in.pixels, i = r.index % in.pixels;
      const T p = in.probRow(b, c)[i];
      const T e = std::fabs((r.fg ? T(1) : T(0)) - p);
      (r.fg ? F : Bk) += 1.0;
      const double jaccard = 1.0 - (G - F) / (G + Bk);
      const double delta = jaccard - previous;
      previous = jaccard;
      loss += static_cast<double>(e) * delta;
      if (u) u[(b * in.classes + c) * in.pixels + i] += static_cast<T>(weight * delta * (r.fg ? -1.0 : 1.0)) * p;
    }
    return loss;
  }

  // ranked ← the valid pixels of images [b0, b0 + count), by decreasing error of class c.
  template <typename T>
  void sortErrors(const ActivatedBatch<T>& in, int64_t b0, int64_t count, int c, std::vector<uint64_t>& words,
                  std::vector<uint64_t>& spare, std::vector<lovasz::Ranked>& ranked) const {
    ranked.clear();
    if constexpr (sizeof(T) == sizeof(float)) {
      words.clear();
      for (int64_t b = b0; b < b0 + count; ++b) {
        const int32_t* label = in.labelRow(b);
        const T* p = in.probRow(b, c);
        const uint32_t base = static_cast<uint32_t>((b - b0) * in.pixels);
        for (int64_t i = 0; i < in.pixels; ++i) {
          if (label[i] < 0) continue;
          const float e = std::fabs((label[i] == c ? 1.0f : 0.0f) - static_cast<float>(p[i]));
          uint32_t bits;
          std::memcpy(&bits, &e, sizeof bits);
          words.push_back((static_cast<uint64_t>(~bits) << 32) | (base + static_cast<uint32_t>(i)));
        }
      }
      lovasz::radixSortHighWords(words, spare);
      ranked.reserve(words.size());
      for (const uint64_t w : words) ranked.push_back(rankedAt(in, b0, static_cast<uint32_t>(w), c));
    } else {
      std::vector<std::pair<T, uint32_t>> pairs;
      for (int64_t b = b0; b < b0 + count; ++b) {
        const int32_t* label = in.labelRow(b);
        const T* p = in.probRow(b, c);
        for (int64_t i = 0; i < in.pixels; ++i) {
          if (label[i] >= 0) pairs.emplace_back(std::fabs((label[i] == c ? T(1) : T(0)) - p[i]), static_cast<uint32_t>((b - b0) * in.pixels + i));
        }
      }
      std::stable_sort(pairs.begin(), pairs.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
      ranked.reserve(pairs.size());
      for (const auto& pair : pairs) ranked.push_back(rankedAt(in, b0, pair.second, c));
    }
  }

  template <typename T>
  static lovasz::Ranked rankedAt(const ActivatedBatch<T>& in, int64_t b0, uint32_t index, int c) {
    return lovasz::Ranked{index, in.labelRow(b0 + index / in.pixels)[index % in.pixels] == c};
  }
};

}  // namespace segloss
