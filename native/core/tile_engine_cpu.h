// The CPU engine: runs any weighted list of loss functors (pixel-wise and region families) over
// tiles of kTilePixels pixels, computing each tile's activation once per pass for all terms.
//
//   pixel-wise term: value = Σ_valid term(p, t) / W with W = Σ_valid pixelWeight(t);
//                    gradient through h_c = p_c · d term / d p_c (H below)
//   region term:     pass 1 reduces per-(image, class) statistics in float64, the functor's head
//                    turns them into the value and d value / d statistics, pass 2 writes
//                    d value / d p_c = probGrad(p, g, dstats) (D below)
//
// Passes: with a region term, pass 1 (region statistics + pixel-wise values) then, when the
// gradient is wanted, pass 2 (all gradients); otherwise one pass (values and gradients). Ignored
// pixels contribute nothing and get gradient 0; with no valid pixel the value is 0. Work is split
// over std::threads by contiguous tile ranges; partial sums are merged in worker order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <variant>
#include <vector>

#include "activation_tile_cpu.h"
#include "loss_batch.h"
#include "loss_family.h"
#include "losses/cross_entropy.h"
#include "losses/dice.h"
#include "parallel_cpu.h"

namespace segloss {

using LossFunctor = std::variant<CrossEntropyLoss, DiceLoss>;

// One term of the objective as the engine runs it.
struct EngineTerm {
  LossFunctor loss;
  double weight = 1.0;  // factor of the term in the objective
};

template <class Loss>
constexpr bool isRegionLoss() {
  return Loss::kFamily == LossFamily::Region;
}

template <PixelActivationKind A, typename T, typename L>
class TileEngineCpu {
 public:
  TileEngineCpu(const LossBatch<T, L>& in, const std::vector<EngineTerm>& terms)
      : in_(in), terms_(terms), channels_(static_cast<int>(in.channels)), classes_(probabilityClasses(in.channels)),
        tiles_((in.pixels + kTilePixels - 1) / kTilePixels) {
    for (const EngineTerm& term : terms_) {
      std::visit([&](const auto& loss) { statsOffset_.push_back(statsSize_); statsSize_ += statsSizeOf(loss); },
                 term.loss);
    }
  }

  // Σ weight · term value; writes scale · d value / d logits into grad when given.
  double run(const GradTarget<T>* grad) {
    std::vector<double> normalizers = pixelNormalizers();
    const bool hasRegion = statsSize_ > 0;
    Partials partials;
    if (hasRegion || !grad) {
      partials = runPass(PassKind::Statistics, nullptr, {}, {});
    }
    std::vector<double> dstats(statsSize_, 0.0);
    const std::vector<double> headValues = runHeads(partials, dstats);
    if (grad) {
      const Partials gradPartials = runPass(hasRegion ? PassKind::Gradient : PassKind::ValuesAndGradient, grad,
                                            dstats, normalizers);
      if (!hasRegion) partials = gradPartials;
    }
    return combine(partials, headValues, normalizers);
  }

 private:
  enum class PassKind { Statistics, Gradient, ValuesAndGradient };

  // Per-worker (then merged) partial results of a pass.
  struct Partials {
    std::vector<double> stats;        // region statistics, [Σ_terms B·K·S]
    std::vector<double> pixelValues;  // Σ of each pixel-wise term's unnormalised values, [terms]
    int64_t validPixels = 0;
  };

  struct Workspace {
    explicit Workspace(int classes)
        : prob(size_t(classes) * kTilePixels), logProb(prob.size()), D(prob.size()), H(prob.size()) {}
    std::vector<T> prob, logProb;  // [K][tile]
    std::vector<T> D, H;           // [K][tile] d value / d p and p · d value / d p
    int label[kTilePixels];        // class of each pixel, −1 when ignored
  };

  template <class Loss>
  size_t statsSizeOf(const Loss&) const {
    if constexpr (isRegionLoss<Loss>()) return size_t(in_.batch) * classes_ * Loss::kStats;
    return 0;
  }

  std::vector<double> pixelNormalizers() const {
    std::vector<double> result(terms_.size(), 0.0);
    for (size_t k = 0; k < terms_.size(); ++k) {
      std::visit([&](const auto& loss) {
        if constexpr (!isRegionLoss<std::decay_t<decltype(loss)>>()) {
          const int64_t n = in_.batch * in_.pixels;
          double total = 0.0;
          for (int64_t j = 0; j < n; ++j) {
            const L t = in_.target[j];
            if (!in_.isIgnored(t)) total += loss.pixelWeight(static_cast<int>(t));
          }
          result[k] = total;
        }
      }, terms_[k].loss);
    }
    return result;
  }

  Partials runPass(PassKind kind, const GradTarget<T>* grad, const std::vector<double>& dstats,
                   const std::vector<double>& normalizers) const {
    const int64_t units = in_.batch * tiles_;
    const int workers = workersFor(units, int64_t(kTilePixels) * classes_);
    std::vector<Partials> perWorker(workers);
    parallelRanges(units, workers, [&](int w, int64_t begin, int64_t end) {
      Partials& part = perWorker[w];
      part.stats.assign(kind == PassKind::Statistics ? statsSize_ : 0, 0.0);
      part.pixelValues.assign(terms_.size(), 0.0);
      Workspace ws(classes_);
      for (int64_t u = begin; u < end; ++u) runTile(kind, u, ws, part, grad, dstats, normalizers);
    });
    Partials merged = std::move(perWorker[0]);
    for (int w = 1; w < workers; ++w) {
      for (size_t i = 0; i < merged.stats.size(); ++i) merged.stats[i] += perWorker[w].stats[i];
      for (size_t k = 0; k < terms_.size(); ++k) merged.pixelValues[k] += perWorker[w].pixelValues[k];
      merged.validPixels += perWorker[w].validPixels;
    }
    return merged;
  }

  void runTile(PassKind kind, int64_t unit, Workspace& ws, Partials& part, const GradTarget<T>* grad,
               const std::vector<double>& dstats, const std::vector<double>& normalizers) const {
    const int64_t b = unit / tiles_;
    const int64_t i0 = (unit % tiles_) * kTilePixels;
    const int n = static_cast<int>(std::min<int64_t>(kTilePixels, in_.pixels - i0));
    const T* z = in_.pixelLogits(b, i0);
    activateTile<T, A>(z, in_.pixels, channels_, n, ws.prob.data(), ws.logProb.data());
    for (int j = 0; j < n; ++j) {
      const L t = in_.label(b, i0 + j);
      ws.label[j] = in_.isIgnored(t) ? -1 : static_cast<int>(t);
      part.validPixels += ws.label[j] >= 0;
    }
    const bool values = kind != PassKind::Gradient;
    if (kind != PassKind::Statistics) {
      std::fill(ws.D.begin(), ws.D.end(), T(0));
      std::fill(ws.H.begin(), ws.H.end(), T(0));
    }
    for (size_t k = 0; k < terms_.size(); ++k) {
      std::visit([&](const auto& loss) {
        using Loss = std::decay_t<decltype(loss)>;
        if constexpr (isRegionLoss<Loss>()) {
          const size_t base = statsOffset_[k] + size_t(b) * classes_ * Loss::kStats;
          if (kind == PassKind::Statistics) accumulateStats(loss, ws, n, part.stats.data() + base);
          else addRegionGrad(loss, T(terms_[k].weight), ws, n, dstats.data() + base);
        } else {
          if (values) part.pixelValues[k] += sumPixelValues(loss, ws, n);
          if (kind != PassKind::Statistics && normalizers[k] > 0.0) {
            addPixelGrad(loss, T(terms_[k].weight / normalizers[k]), ws, n);
          }
        }
      }, terms_[k].loss);
    }
    if (kind != PassKind::Statistics) {
      writeTileGrad<T, A>(ws.prob.data(), ws.D.data(), ws.H.data(), channels_, n,
                          grad->data + b * in_.channels * in_.pixels + i0, in_.pixels, grad->scale, grad->accumulate);
    }
  }

  template <class Loss>
  void accumulateStats(const Loss& loss, const Workspace& ws, int n, double* stats /* [K][S] */) const {
    for (int c = 0; c < classes_; ++c) {
      const T* p = ws.prob.data() + c * kTilePixels;
      double local[Loss::kStats] = {};  // kept in registers across the tile
      for (int j = 0; j < n; ++j) {
        if (ws.label[j] >= 0) loss.accumulate(p[j], ws.label[j] == c ? T(1) : T(0), local);
      }
      for (int s = 0; s < Loss::kStats; ++s) stats[c * Loss::kStats + s] += local[s];
    }
  }

  template <class Loss>
  void addRegionGrad(const Loss& loss, T weight, Workspace& ws, int n, const double* dstats /* [K][S] */) const {
    for (int c = 0; c < classes_; ++c) {
      const T* p = ws.prob.data() + c * kTilePixels;
      T* d = ws.D.data() + c * kTilePixels;
      const double* ds = dstats + c * Loss::kStats;
      for (int j = 0; j < n; ++j) {
        const T g = loss.probGrad(p[j], ws.label[j] == c ? T(1) : T(0), ds);
        d[j] += ws.label[j] >= 0 ? weight * g : T(0);
      }
    }
  }

  template <class Loss>
  double sumPixelValues(const Loss& loss, const Workspace& ws, int n) const {
    double total = 0.0;
    for (int j = 0; j < n; ++j) {
      if (ws.label[j] < 0) continue;
      const TilePixel<T> px{ws.prob.data() + j, ws.logProb.data() + j};
      total += static_cast<double>(loss.value(px, ws.label[j]));
    }
    return total;
  }

  template <class Loss>
  void addPixelGrad(const Loss& loss, T scale, Workspace& ws, int n) const {
    for (int c = 0; c < classes_; ++c) {
      T* h = ws.H.data() + c * kTilePixels;
      for (int j = 0; j < n; ++j) {
        const TilePixel<T> px{ws.prob.data() + j, ws.logProb.data() + j};
        const int label = ws.label[j];
        h[j] += label >= 0 ? scale * loss.scaledGrad(px, c, label) : T(0);
      }
    }
  }

  // Each region term's head value; fills dstats. No valid pixel: value 0, dstats 0.
  std::vector<double> runHeads(const Partials& partials, std::vector<double>& dstats) const {
    std::vector<double> values(terms_.size(), 0.0);
    if (partials.validPixels == 0) return values;
    for (size_t k = 0; k < terms_.size(); ++k) {
      std::visit([&](const auto& loss) {
        if constexpr (isRegionLoss<std::decay_t<decltype(loss)>>()) {
          values[k] = loss.head(partials.stats.data() + statsOffset_[k], dstats.data() + statsOffset_[k], in_.batch,
                                classes_);
        }
      }, terms_[k].loss);
    }
    return values;
  }

  double combine(const Partials& partials, const std::vector<double>& headValues,
                 const std::vector<double>& normalizers) const {
    double value = 0.0;
    for (size_t k = 0; k < terms_.size(); ++k) {
      std::visit([&](const auto& loss) {
        if constexpr (isRegionLoss<std::decay_t<decltype(loss)>>()) {
          value += terms_[k].weight * headValues[k];
        } else if (normalizers[k] > 0.0) {
          value += terms_[k].weight * partials.pixelValues[k] / normalizers[k];
        }
      }, terms_[k].loss);
    }
    return value;
  }

  const LossBatch<T, L>& in_;
  const std::vector<EngineTerm>& terms_;
  const int channels_;
  const int classes_;
  const int64_t tiles_;
  std::vector<size_t> statsOffset_;  // start of each term's statistics in the stats buffers
  size_t statsSize_ = 0;
};

}  // namespace segloss
