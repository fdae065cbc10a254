// The CPU entry points of the core (losses.h): checks, the loss functors, the instruction-set-
// neutral driver of the tile kernels (tile_engine_cpu.h) and the region heads.
//
//   pass 1 (Statistics): region moments [B, K, 5] (+ confusion moments [B, K, K] for Confusion terms)
//                        + pixel-wise value sums   (when any region or special term, or no
//                        gradient is wanted); with a special term, also the batch's activation
//                        and labels (special_batch.h)
//   heads:               each region term: value and d value / d moments, folded with its weight
//                        into one set of per-(image, class) gradient coefficients
//   special terms:       each: value and weight · d value / d p into one [B, K, N] buffer (or the
//                        true class's u into one [B, N] buffer)
//   pass 2 (Gradient, or ValuesAndGradient when there is only pixel-wise terms): d value / d logits
#include "losses.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <memory>
#include <optional>
#include <string>

#include "batch_buffer.h"
#include "confusion_moments.h"
#include "cpu_isa.h"
#include "dispatch.h"
#include "parallel_cpu.h"
#include "special_batch.h"
#include "vector_kernels.h"
#include "target_maps.h"
#include "tile_engine_cpu.h"

namespace segloss {

PixelActivationKind resolveActivation(Activation activation, int64_t channels) {
  if (channels == 1) {
    if (activation == Activation::Softmax) {
      throw LossArgumentError("softmax over a single channel is constant; use sigmoid or none for C = 1");
    }
    return activation == Activation::Sigmoid ? PixelActivationKind::BinarySigmoid : PixelActivationKind::BinaryNone;
  }
  switch (activation) {
    case Activation::Sigmoid: return PixelActivationKind::Sigmoid;
    case Activation::None: return PixelActivationKind::None;
    default: return PixelActivationKind::Softmax;
  }
}

int64_t findInvalidLabel(const LossTensors& t) {
  const int64_t classes = probabilityClasses(t.channels);
  return dispatchLabel(t.labelType, [&](auto label) -> int64_t {
    using L = decltype(label);
    const L* target = static_cast<const L*>(t.target);
    const int64_t n = t.batch * t.pixels;
    for (int64_t j = 0; j < n; ++j) {
      const int64_t v = static_cast<int64_t>(target[j]);
      if ((v < 0 || v >= classes) && !(t.hasIgnore && v == t.ignoreIndex)) return j;
    }
    return -1;
  });
}

// Whether z[i0, i1) holds a NaN or ±Inf (branch-free: the loop vectorises).
int64_t findNonFiniteLogit(const LossTensors& t) {
  const int64_t n = t.batch * t.channels * t.pixels;
  return dispatchScalar(t.dtype, [&](auto scalar) -> int64_t {
    using T = decltype(scalar);
    const T* z = static_cast<const T*>(t.logits);
    constexpr int64_t kChunk = 4096;
    // A vectorised test per chunk, the index only in a bad one; chunks split over the workers, each
    // keeping its first bad index (the smallest over workers is the first of all).
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    const int workers = workersFor(chunks, kChunk);
    std::vector<int64_t> first(static_cast<size_t>(workers), -1);
    parallelRanges(chunks, workers, [&](int worker, int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t i0 = c * kChunk, i1 = std::min(n, i0 + kChunk);
        if (!hasNonFiniteCpu(z + i0, static_cast<int>(i1 - i0))) continue;
        for (int64_t i = i0; i < i1; ++i) {
          if (!std::isfinite(z[i])) {
            first[static_cast<size_t>(worker)] = i;
            return;
          }
        }
      }
    });
    for (const int64_t i : first) {
      if (i >= 0) return i;  // workers' ranges are in order
    }
    return -1;
  });
}

void checkLossOptions(const LossOptions& options, int classes) {
  std::visit([&](const auto& opts) {
    using Options = std::decay_t<decltype(opts)>;
    if (const char* problem = opts.invalid()) throw LossArgumentError(std::string(lossId(options)) + ": " + problem);
    forEachField<Options>([&](const auto& field) {
      using Member = std::decay_t<decltype(opts.*(field.member))>;
      if constexpr (std::is_same_v<Member, DoubleArray>) {
        const DoubleArray& array = opts.*(field.member);
        const int64_t expected = expectedArrayLength(field.expectedLength, classes);
        if (!array.empty() && expected >= 0 && static_cast<int64_t>(array.values.size()) != expected) {
          const char* what = field.expectedLength == kPerClass ? "K" : field.expectedLength == kPerClassPair ? "K·K" : "";
          throw LossArgumentError(std::string(field.name) + " has " + std::to_string(array.values.size()) +
                                  " entries, expected " + what + (*what ? " = " : "") + std::to_string(expected));
        }
      }
    });
  }, options);
}

namespace {


void checkShape(const LossTensors& t) {
  if (t.batch <= 0 || t.channels <= 0 || t.pixels <= 0) {
    throw LossArgumentError("batch, channels and pixels must be positive");
  }
  if (!t.logits || !t.target) throw LossArgumentError("logits and target must not be null");
}

using TileKernel = void (*)(const TileJob&, int64_t, int64_t, void*, TilePartials&);

TileKernel tileKernel() {
  switch (activeCpuIsa()) {
    case CpuIsa::Avx512: return isa_avx512::runTiles;
    case CpuIsa::Avx2: return isa_avx2::runTiles;
    default: return isa_sse2::runTiles;
  }
}

// The objective's terms as functors, split by family.
struct EngineTerms {
  std::vector<LossFunctor> functors;  // one per term, in order
  std::vector<double> weights;
  std::vector<size_t> pixel, region, special, planar, map, batchMap;  // indices into functors
};

EngineTerms engineTerms(const std::vector<WeightedLossOptions>& terms, int classes) {
  EngineTerms out;
  for (const WeightedLossOptions& term : terms) {
    checkLossOptions(term.options, classes);
    out.functors.push_back(makeLossFunctor(term.options, hostContext(classes)));
    out.weights.push_back(term.weight);
    const LossFamily family = std::visit([](const auto& loss) { return std::decay_t<decltype(loss)>::kFamily; },
                                         out.functors.back());
    const size_t index = out.functors.size() - 1;
    if (family == LossFamily::Planar) out.planar.push_back(index);
    else if (family == LossFamily::Special) out.special.push_back(index);
    else if (family == LossFamily::Map) out.map.push_back(index);
    else if (family == LossFamily::BatchMap) out.batchMap.push_back(index);
    else if (family == LossFamily::Pixel) out.pixel.push_back(index);
    else out.region.push_back(index);  // Region and Confusion
  }
  return out;
}

// Σ_valid w_t for normaliser weights w (nullptr: the count of valid pixels).
double validWeightSum(const LossTensors& t, const double* classWeights) {
  return dispatchLabel(t.labelType, [&](auto label) {
    using L = decltype(label);
    const L* target = static_cast<const L*>(t.target);
    const int64_t n = t.batch * t.pixels;
    if (!classWeights && !t.hasIgnore) return static_cast<double>(n);
    if (!classWeights) {  // the labels that are not the ignore index, counted on the workers
      constexpr int64_t kChunk = 1 << 15;
      const int64_t chunks = (n + kChunk - 1) / kChunk;
      const int workers = workersFor(chunks, kChunk);
      std::vector<int64_t> counts(static_cast<size_t>(workers), 0);
      parallelRanges(chunks, workers, [&](int w, int64_t c0, int64_t c1) {
        int64_t count = 0;
        const int64_t end = std::min(n, c1 * kChunk);
        for (int64_t j = c0 * kChunk; j < end; ++j) count += static_cast<int64_t>(target[j]) != t.ignoreIndex;
        counts[static_cast<size_t>(w)] = count;
      });
      int64_t count = 0;
      for (const int64_t c : counts) count += c;
      return static_cast<double>(count);
    }
    const int classes = probabilityClasses(t.channels);
    std::vector<int64_t> histogram(classes, 0);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t v = static_cast<int64_t>(target[j]);
      if (v >= 0 && v < classes) ++histogram[v];  // other labels: ignored, or reported by the kernels
    }
    double total = 0.0;
    for (int c = 0; c < classes; ++c) total += classWeights[c] * static_cast<double>(histogram[c]);
    return total;
  });
}

// Binds the per-(image, class) target counts of the region heads that read them (a kTargetCounts
// member: boundary DoU), from the target-map cache. Returns the storage the functors point to.
std::vector<std::vector<double>> bindTargetCounts(EngineTerms& terms, const LossTensors& t) {
  std::vector<std::vector<double>> storage;
  const int classes = probabilityClasses(t.channels);
  for (const size_t k : terms.region) {
    std::visit([&](auto& loss) {
      using Loss = std::decay_t<decltype(loss)>;
      if constexpr (requires { Loss::kTargetCounts; }) {
        const TargetMapRequest request{Loss::kTargetCounts, classes, spatialGrid(t, Loss::kId), t.hasIgnore, t.ignoreIndex};
        const BatchTargetMaps maps = targetMaps(t.target, t.labelType, t.batch, request);
        std::vector<double> counts(static_cast<size_t>(t.batch * classes));
        for (int64_t b = 0; b < t.batch; ++b) std::copy(maps.data[b], maps.data[b] + classes, counts.begin() + b * classes);
        storage.push_back(std::move(counts));
        loss.targetCounts = storage.back().data();
      }
    }, terms.functors[k]);
  }
  return storage;
}

// Labels outside [0, K) and non-finite logits, for objectives the tile passes (which check them
// on the way) do not run.
void checkInputs(const LossTensors& t) {
  if (const int64_t bad = findInvalidLabel(t); bad >= 0) {
    throw LossArgumentError("label outside [0, K) at flat index " + std::to_string(bad));
  }
  if (const int64_t bad = findNonFiniteLogit(t); bad >= 0) {
    throw LossArgumentError("non-finite logit at flat index " + std::to_string(bad));
  }
}

// Σ weight · value of the batch-map terms (active boundary), each on the whole batch with its
// cached target map; their gradients are added to grad (written by the earlier passes, or zeroed).
double runBatchMapTerms(const EngineTerms& terms, const LossTensors& t, const LossGradient* grad) {
  double value = 0.0;
  for (const size_t k : terms.batchMap) {
    std::visit([&](const auto& loss) {
      using Loss = std::decay_t<decltype(loss)>;
      if constexpr (isBatchMapLoss<Loss>()) {
        loss.checkInput(t);
        const TargetMapRequest request{Loss::kTargetMap, probabilityClasses(t.channels), spatialGrid(t, Loss::kId), t.hasIgnore,
                                       t.ignoreIndex};
        const BatchTargetMaps maps = targetMaps(t.target, t.labelType, t.batch, request);
        value += terms.weights[k] * loss.run(t, maps.data.data(), terms.weights[k], grad);
      }
    }, terms.functors[k]);
  }
  return value;
}

PixelTermRef pixelTermRef(const LossFunctor& functor, double weight, const LossTensors& t) {
  PixelTermRef ref;
  ref.lossIndex = static_cast<int>(functor.index());
  std::visit([&](const auto& loss) {
    using Loss = std::decay_t<decltype(loss)>;
    if constexpr (isPixelLoss<Loss>()) {
      ref.functor = &loss;
      ref.classWeights = loss.weights.classWeights;
      ref.classFactors = loss.weights.classFactors;
      ref.smoothing = loss.weights.smoothing;
      ref.complementFactor = loss.weights.complementFactor;
    }
  }, functor);
  const double normalizer = validWeightSum(t, ref.classWeights);
  ref.gradFactor = normalizer > 0.0 ? weight / normalizer : 0.0;
  return ref;
}

// The active instruction set's rewriteTrueUGrad (tile_engine_cpu.h).
void rewriteTrueUGradCpu(const TileJob& job, const int64_t* pixels, int64_t count, double u, void* workspace) {
  switch (activeCpuIsa()) {
    case CpuIsa::Avx512: return isa_avx512::rewriteTrueUGrad(job, pixels, count, u, workspace);
    case CpuIsa::Avx2: return isa_avx2::rewriteTrueUGrad(job, pixels, count, u, workspace);
    default: return isa_sse2::rewriteTrueUGrad(job, pixels, count, u, workspace);
  }
}

// The active instruction set's trueClassLosses (tile_engine_cpu.h).
void trueClassLossesCpu(const TileJob& job, int64_t b, int64_t i0, int count, double* out, void* workspace) {
  switch (activeCpuIsa()) {
    case CpuIsa::Avx512: return isa_avx512::trueClassLosses(job, b, i0, count, out, workspace);
    case CpuIsa::Avx2: return isa_avx2::trueClassLosses(job, b, i0, count, out, workspace);
    default: return isa_sse2::trueClassLosses(job, b, i0, count, out, workspace);
  }
}

class CpuDriver {
 public:
  CpuDriver(const LossTensors& tensors, const EngineTerms& terms) : tensors_(tensors), terms_(terms), job_(tileJobOf(tensors)) {
    job_.ignoreMatches = tensors.hasIgnore && tensors.ignoreIndex >= std::numeric_limits<int32_t>::min() &&
                         tensors.ignoreIndex <= std::numeric_limits<int32_t>::max();
    job_.ignoreLabel = static_cast<int32_t>(job_.ignoreMatches ? tensors.ignoreIndex : -1);
    job_.hasIgnore = tensors.hasIgnore;
    job_.ignoreIndex = tensors.ignoreIndex;
    for (const size_t k : terms.pixel) {
      pixelRefs_.push_back(pixelTermRef(terms.functors[k], terms.weights[k], tensors));
      pixelNormalizerFactor_.push_back(pixelRefs_.back().gradFactor);
    }
    job_.pixelTerms = pixelRefs_.data();
    job_.pixelTermCount = static_cast<int>(pixelRefs_.size());
    bool smoothing = false;
    pixelSmoothing_.assign(job_.classes, 0.0);
    for (const PixelTermRef& ref : pixelRefs_) {
      if (ref.smoothing == 0.0) continue;
      smoothing = true;
      for (int c = 0; c < job_.classes; ++c) {
        pixelSmoothing_[c] += ref.gradFactor * ref.smoothing * (ref.classWeights ? ref.classWeights[c] : 1.0);
      }
    }
    for (const double x : pixelSmoothing_) job_.pixelSmoothingSum += x;
    job_.pixelSmoothing = smoothing ? pixelSmoothing_.data() : nullptr;
    job_.needLogProb = !pixelRefs_.empty() && (smoothing || job_.activation != PixelActivationKind::Softmax);
    for (const PixelTermRef& ref : pixelRefs_) {
      job_.pixelComplements |= ref.complementFactor != 0.0 && job_.activation == PixelActivationKind::Sigmoid;
    }
    job_.normalized = job_.activation == PixelActivationKind::Softmax || job_.activation == PixelActivationKind::BinarySigmoid ||
                      job_.activation == PixelActivationKind::BinaryNone;
    for (const size_t k : terms.region) {
      std::visit([&](const auto& loss) {
        using Loss = std::decay_t<decltype(loss)>;
        if constexpr (isRegionLoss<Loss>()) job_.moments |= loss.moments();
        if constexpr (usesConfusion<Loss>()) job_.confusion = job_.confusion || loss.needsConfusion(job_.normalized);
      }, terms.functors[k]);
    }
    for (const size_t k : terms.special) {
      std::visit([&](const auto& loss) {
        using Loss = std::decay_t<decltype(loss)>;
        if constexpr (isSpecialLoss<Loss>()) needs_ = needs_ | loss.needs();
        if constexpr (isSpecialLoss<Loss>() && specialUsesMoments<Loss>()) {
          job_.moments |= loss.moments();
          specialMoments_ = true;
        }
        if constexpr (isSpecialLoss<Loss>() && specialHasTilePart<Loss>()) {
          specialTileOf_.push_back(static_cast<int>(specialTileRefs_.size()));
          specialTileRefs_.push_back(SpecialTileRef{static_cast<int>(terms.functors[k].index()), &loss, 0.0});
          job_.needLogProb = job_.needLogProb || Loss::kTileLogProb;
        } else {
          specialTileOf_.push_back(-1);
        }
      }, terms.functors[k]);
    }
    job_.specialTiles = specialTileRefs_.data();
    job_.specialTileCount = static_cast<int>(specialTileRefs_.size());
    prepareMapTerms();
  }

  double run(const LossGradient* grad) {
    const bool hasRegion = !terms_.region.empty();
    const bool hasSpecial = !terms_.special.empty();
    const size_t momentsSize = size_t(job_.batch) * job_.classes * kMomentCount;
    const size_t confusionCount = job_.confusion ? size_t(job_.batch) * confusionSize(job_.classes) : 0;
    Sums sums;
    job_.checkInputs = true;  // the first pass checks labels and logits
    if (hasSpecial) allocateActivation();
    if (hasRegion || hasSpecial || !grad) {
      sums = runPass(PassKind::Statistics, momentsSize, confusionCount);
      job_.checkInputs = false;
    }
    const bool hasCoefficients = hasRegion || specialMoments_;  // region heads, or special parts on the moments
    double value = hasCoefficients ? regionHeads(sums) : 0.0;
    if (grad && grad->stateGrad && hasRegion && sums.validPixels > 0) *grad->stateGrad += grad->scale * stateGradients(sums);
    if (hasSpecial) value += dispatchScalar(job_.dtype, [&](auto scalar) { return specialTerms(scalar, sums, grad != nullptr); });
    if (grad) {
      job_.grad = grad->data;
      job_.gradScale = grad->scale;
      job_.accumulate = grad->accumulate;
      job_.coefficients = hasCoefficients ? coefficients_.data() : nullptr;
      job_.specialDprob = hasSpecial ? specialDprob_.get() : nullptr;
      job_.specialU = hasSpecial ? specialU_.get() : nullptr;
      job_.specialTrueU = hasSpecial ? specialTrueU_.get() : nullptr;
      job_.confusionRows = job_.confusion ? confusionRows_.data() : nullptr;
      const bool twoPass = hasRegion || hasSpecial;
      const Sums gradSums = runPass(twoPass ? PassKind::Gradient : PassKind::ValuesAndGradient, 0, 0);
      job_.checkInputs = false;
      if (!twoPass) sums = gradSums;
    }
    for (size_t k = 0; k < pixelRefs_.size(); ++k) value += pixelNormalizerFactor_[k] * sums.pixelValues[k];
    return value + sums.mapValue;
  }

  // topk alone under softmax, writing (not accumulating) the gradient, in one tile pass instead of
  // a Statistics pass, the selection and a Gradient pass: the count n of selected pixels is known
  // from the labels, and a threshold τ_low below the k-th percentile is estimated from a sample of
  // the batch's tiles; the pass gives every pixel with v > τ_low the gradient of a selected one and
  // records it; τ is then selected exactly among those candidates, the ones below it get their
  // gradient zeroed and the ties their tie weight. The values, τ, the gradients and the value are
  // those of TopKLoss::run and the two-pass path (same arithmetic). nullopt, with nothing written,
  // when the sample cannot place τ_low well (small batches, large k) or — after the pass, which then
  // wrote the gradient — when fewer than n pixels were above τ_low or a worker's record overflowed:
  // the caller then runs the two-pass path, which overwrites the gradient.
  std::optional<double> runTopkOnePass(const TopKLoss& loss, double weight, const LossGradient* grad) {
    if (!grad || grad->accumulate || job_.activation != PixelActivationKind::Softmax || loss.options.k > 30.0) return std::nullopt;
    const int64_t total = job_.batch * job_.pixels;
    const int64_t base = loss.options.countIgnored ? total : static_cast<int64_t>(validWeightSum(tensors_, nullptr));
    if (base <= 0) return std::nullopt;
    const int64_t n = std::min<int64_t>(loss.selectedCount(base), base);
    const std::optional<TopkSample> sample = sampleThreshold(loss);
    if (!sample) return std::nullopt;
    // per-worker records, sized for twice the sample's share of candidates (plus slack)
    const int64_t units = job_.units();
    const int workers = workersFor(units, int64_t(kTilePixels) * job_.classes);
    const int64_t rangePixels = ((units + workers - 1) / workers) * kTilePixels;
    const int64_t capacity =
        std::min<int64_t>(rangePixels, static_cast<int64_t>(std::ceil(2.0 * sample->fraction * rangePixels)) + 4096);
    std::vector<BatchArray<double>> values;
    std::vector<BatchArray<int64_t>> pixels;
    std::vector<int64_t> histograms(size_t(workers) * kTopkBuckets, 0);
    topkCandidates_.assign(static_cast<size_t>(workers), TopkCandidates{});
    for (int w = 0; w < workers; ++w) {
      values.emplace_back(static_cast<size_t>(capacity), BufferFill::Overwritten);
      pixels.emplace_back(static_cast<size_t>(capacity), BufferFill::Overwritten);
      topkCandidates_[w] = TopkCandidates{values.back().data, pixels.back().data, capacity, 0, false,
                                          histograms.data() + size_t(w) * kTopkBuckets, orderedKey(sample->low)};
    }
    job_.checkInputs = true;
    job_.grad = grad->data;
    job_.gradScale = grad->scale;
    job_.accumulate = false;
    job_.topkFused = true;
    job_.topkLow = sample->low;
    job_.topkWrite = sample->estimate;
    job_.topkU = -(weight / static_cast<double>(n));
    runPass(PassKind::ValuesAndGradient, 0, 0);
    job_.topkFused = false;
    job_.checkInputs = false;
    // the candidates (each worker's in pixel order); τ is the n-th largest of them
    int64_t count = 0;
    for (const TopkCandidates& c : topkCandidates_) {
      if (c.overflow) return std::nullopt;
      count += c.count;
    }
    if (count < n) return std::nullopt;
    // τ; the gradient of the candidates written as selected (v > the written threshold, as the
    // pass compared in T) but below τ zeroed, and the one of those above τ but not written
    // rewritten: per worker, over its candidates near τ (each worker's pixels are its own: no two
    // write one pixel)
    const bool float64 = job_.dtype == ScalarType::Float64;
    const double written = float64 ? sample->estimate : static_cast<double>(static_cast<float>(sample->estimate));
    const TopkThreshold t = selectThreshold(n, sample->low, written);
    const double tau = t.tau;
    const double u = -(weight / static_cast<double>(n));
    const size_t scratch = tileWorkspaceBytes(job_);
    ensureScratch(size_t(workers) * scratch);
    std::vector<BatchArray<int64_t>> raised;
    for (const TopkNear& near : t.near) raised.emplace_back(static_cast<size_t>(near.count), BufferFill::Overwritten);
    parallelRanges(workers, workers, [&](int, int64_t w0, int64_t w1) {
      for (int64_t w = w0; w < w1; ++w) {
        const TopkNear& near = t.near[static_cast<size_t>(w)];
        int64_t* raise = raised[static_cast<size_t>(w)].data;
        int64_t raises = 0;
        for (int64_t k = 0; k < near.count; ++k) {
          const double v = near.values.data[k];
          if (v < tau && v > written) zeroPixelGradient(near.pixels.data[k]);
          if (v > tau && v <= written) raise[raises++] = near.pixels.data[k];
        }
        rewriteTrueUGradCpu(job_, raise, raises, u, scratch_.get() + w * scratch);
      }
    });
    const int64_t above = t.above, tied = t.tied;
    const double sumAbove = t.sumAbove;
    // at τ: the tie weight's gradient (unless it is 1 and the ties were written as selected)
    const double tieWeight = static_cast<double>(n - above) / static_cast<double>(tied);
    if (tieWeight != 1.0 || !(tau > written)) {
      std::vector<int64_t> ties;
      for (const TopkNear& near : t.near) {
        for (int64_t k = 0; k < near.count; ++k) {
          if (near.values.data[k] == tau) ties.push_back(near.pixels.data[k]);
        }
      }
      rewriteTrueUGradCpu(job_, ties.data(), static_cast<int64_t>(ties.size()), u * tieWeight, scratch_.get());
    }
    topkCandidates_.clear();
    const double value = (sumAbove + static_cast<double>(n - above) * tau) / static_cast<double>(n);
    return weight * value;
  }

 private:
  // One worker's candidates in the buckets from the written threshold's to τ's: the only ones
  // whose gradient the pass may have written wrongly, and every tie of τ.
  struct TopkNear {
    BatchArray<double> values;
    BatchArray<int64_t> pixels;
    int64_t count = 0;
  };

  struct TopkThreshold {
    double tau = 0.0;       // the n-th largest candidate value
    int64_t above = 0;      // candidates > τ
    int64_t tied = 0;       // candidates = τ
    double sumAbove = 0.0;  // Σ of the candidate values > τ
    std::vector<TopkNear> near;  // per worker
  };

  // τ = the n-th largest of the workers' candidate values (all > low; n ≤ their count) and the
  // counts and sum around it, from the histograms the pass made of them (TopkCandidates::histogram,
  // topkBucket): the bucket that holds the n-th largest; then one pass over each worker's
  // candidates (on the workers) counts and sums the ones in higher buckets, collects the values of
  // τ's bucket and the candidates near τ (TopkNear, between the buckets of `written` and τ);
  // std::nth_element over τ's bucket gives τ, and that bucket's values its ties and the rest.
  TopkThreshold selectThreshold(int64_t n, double low, double written) const {
    const uint64_t lowKey = orderedKey(low);
    const int workers = static_cast<int>(topkCandidates_.size());
    const auto inBuckets = [&](int w, int from, int to) {
      int64_t count = 0;
      for (int b = from; b <= to; ++b) count += topkCandidates_[size_t(w)].histogram[b];
      return count;
    };
    // from the top: the bucket where the count reaches n
    int bucket = kTopkBuckets - 1;
    int64_t aboveBucket = 0;
    for (;; --bucket) {
      int64_t inBucket = 0;
      for (int w = 0; w < workers; ++w) inBucket += inBuckets(w, bucket, bucket);
      if (aboveBucket + inBucket >= n || bucket == 0) break;
      aboveBucket += inBucket;
    }
    const int writtenBucket = topkBucket(written, lowKey);
    const int nearFrom = std::min(bucket, writtenBucket), nearTo = std::max(bucket, writtenBucket);
    TopkThreshold t;
    std::vector<int64_t> offsets(size_t(workers) + 1, 0);
    for (int w = 0; w < workers; ++w) {
      offsets[w + 1] = offsets[w] + inBuckets(w, bucket, bucket);
      const int64_t count = inBuckets(w, nearFrom, nearTo);
      t.near.push_back(TopkNear{BatchArray<double>(size_t(count), BufferFill::Overwritten),
                                BatchArray<int64_t>(size_t(count), BufferFill::Overwritten), count});
    }
    std::vector<double> values(static_cast<size_t>(offsets[workers]));
    std::vector<double> sumOf(size_t(workers), 0.0);
    parallelRanges(workers, workers, [&](int, int64_t w0, int64_t w1) {
      for (int64_t w = w0; w < w1; ++w) {
        const TopkCandidates& c = topkCandidates_[size_t(w)];
        TopkNear& near = t.near[size_t(w)];
        double* out = values.data() + offsets[w];
        double sum = 0.0;
        int64_t k = 0;
        for (int64_t i = 0; i < c.count; ++i) {
          const double v = c.values[i];
          const int b = topkBucket(v, lowKey);
          sum += b > bucket ? v : 0.0;
          if (b == bucket) *out++ = v;
          if (b >= nearFrom && b <= nearTo) {
            near.values.data[k] = v;
            near.pixels.data[k++] = c.pixels[i];
          }
        }
        sumOf[size_t(w)] = sum;
      }
    });
    const int64_t rank = n - aboveBucket;  // 1-based, from the top of the bucket
    std::nth_element(values.begin(), values.begin() + (rank - 1), values.end(), std::greater<double>());
    t.tau = values[static_cast<size_t>(rank - 1)];
    t.above = aboveBucket;
    for (const double s : sumOf) t.sumAbove += s;
    for (const double v : values) {
      t.above += v > t.tau;
      t.tied += v == t.tau;
      t.sumAbove += v > t.tau ? v : 0.0;
    }
    return t;
  }

  struct TopkSample {
    double low = 0.0;       // τ_low
    double estimate = 0.0;  // the sample's k-th percentile (≥ τ_low): where the pass writes gradients
    double fraction = 0.0;  // share of the sample above τ_low
  };

  // τ_low from kSampleRuns runs of kRunPixels pixels spread evenly over the batch (short runs, many
  // of them: neighbouring pixels of real images are alike, so many places say more than a few
  // tiles): v = −log p_t for their base pixels (computed as the pass computes it, a run at a
  // time), and the value of rank ⌈1.5 · k % · m⌉ + 8
  // among the m of them (a margin of about half the selection, so that fewer than n pixels of the
  // batch lie above it only rarely; when they do, the caller falls back). nullopt for a batch of
  // fewer than 64 tiles, a sample too small or a rank too deep to gain.
  std::optional<TopkSample> sampleThreshold(const TopKLoss& loss) {
    constexpr int64_t kSampleRuns = 64, kRunPixels = 32;
    const int64_t total = job_.batch * job_.pixels;
    if (job_.units() < 64) return std::nullopt;  // (then total ≥ kSampleRuns · kRunPixels: no run overlaps)
    std::vector<double> sample;
    ensureScratch(tileWorkspaceBytes(job_));
    double v[kRunPixels];
    dispatchLabel(tensors_.labelType, [&](auto label) {
      using L = decltype(label);
      const L* target = static_cast<const L*>(tensors_.target);
      for (int64_t k = 0; k < kSampleRuns; ++k) {
        const int64_t at = (2 * k + 1) * total / (2 * kSampleRuns);  // the run's first pixel (flat)
        const int64_t b = at / tensors_.pixels, i0 = at % tensors_.pixels;
        const int count = static_cast<int>(std::min<int64_t>(tensors_.pixels - i0, kRunPixels));
        trueClassLossesCpu(job_, b, i0, count, v, scratch_.get());
        for (int j = 0; j < count; ++j) {
          const int64_t t = static_cast<int64_t>(target[at + j]);
          const bool ignored = tensors_.hasIgnore && t == tensors_.ignoreIndex;
          if (ignored && loss.options.countIgnored) sample.push_back(0.0);
          if (!ignored && t >= 0 && t < tensors_.channels) sample.push_back(v[j]);
        }
      }
    });
    const int64_t m = static_cast<int64_t>(sample.size());
    const int64_t rank = static_cast<int64_t>(std::ceil(1.5 * loss.options.k / 100.0 * static_cast<double>(m))) + 8;
    if (m < 256 || 2 * rank > m) return std::nullopt;
    std::nth_element(sample.begin(), sample.begin() + (rank - 1), sample.end(), std::greater<double>());
    const double low = std::max(0.0, sample[static_cast<size_t>(rank - 1)]);
    // the point estimate: rank ⌈k%·m⌉ (≤ rank), among the values above the one at rank
    const int64_t point = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(loss.options.k / 100.0 * static_cast<double>(m))));
    std::nth_element(sample.begin(), sample.begin() + (point - 1), sample.begin() + (rank - 1), std::greater<double>());
    const double estimate = std::max(low, sample[static_cast<size_t>(point - 1)]);
    return TopkSample{low, estimate, static_cast<double>(rank) / static_cast<double>(m)};
  }

  // Every channel's gradient at flat pixel (b·N + i) set to gradScale · 0 (the two-pass path's
  // value for a pixel with no u).
  void zeroPixelGradient(int64_t flat) {
    const int64_t b = flat / job_.pixels, i = flat % job_.pixels;
    const int64_t first = b * job_.channels * job_.pixels + i;
    const auto write = [&](auto* grad, auto zero) {
      for (int64_t c = 0; c < job_.channels; ++c) grad[first + c * job_.pixels] = zero;
    };
    if (job_.dtype == ScalarType::Float64) {
      write(static_cast<double*>(job_.grad), job_.gradScale * 0.0);
    } else {
      write(static_cast<float*>(job_.grad), static_cast<float>(job_.gradScale) * 0.0f);
    }
  }

  struct Sums {
    std::vector<double> moments;      // [B, K, kMomentCount]
    std::vector<double> pixelValues;  // [pixel terms]
    std::vector<double> specialTileValues;  // [special tile parts]
    std::vector<double> confusion;    // [B, K, K] (Confusion terms only)
    double mapValue = 0.0;            // Σ over map terms (weighted, normalised)
    int64_t validPixels = 0;
  };

  // The maps and factors of every map term (map_terms.h), and the job's view of them.
  void prepareMapTerms() {
    if (terms_.map.empty()) return;
    const double validPixels = validWeightSum(tensors_, nullptr);
    for (const size_t k : terms_.map) {
      std::visit([&](const auto& loss) {
        if constexpr (isMapLoss<std::decay_t<decltype(loss)>>()) {
          const MapTermPlan plan = loss.plan();
          mapPrepared_.push_back(prepareMapTerm(plan, tensors_, terms_.weights[k], validPixels));
          job_.mapLogProb |= plan.kind == MapTermKind::TrueClassLog;
        }
      }, terms_.functors[k]);
    }
    for (const PreparedMapTerm& term : mapPrepared_) {
      mapRefs_.push_back(MapTermRef{term.kind, term.maps.data(), term.factors.data(), term.offset});
    }
    job_.mapTerms = mapRefs_.data();
    job_.mapTermCount = static_cast<int>(mapRefs_.size());
    if (job_.mapLogProb && job_.activation != PixelActivationKind::Softmax) job_.needLogProb = true;
  }

  // Worker w's sums: [momentsSize moments | pixel term values | the map terms' value |
  // confusionCount confusion moments | special tile part values].
  Sums runPass(PassKind pass, size_t momentsSize, size_t confusionCount) {
    job_.pass = pass;
    const int64_t units = job_.units();
    const int workers = workersFor(units, int64_t(kTilePixels) * job_.classes);
    const size_t scratch = tileWorkspaceBytes(job_);
    const size_t mapValueAt = momentsSize + pixelRefs_.size();
    const size_t confusionAt = mapValueAt + 1;
    const size_t tilesAt = confusionAt + confusionCount;
    const size_t perWorker = tilesAt + specialTileRefs_.size();
    std::vector<double> sums(size_t(workers) * perWorker, 0.0);
    std::vector<int64_t> valid(workers, 0);
    std::vector<char> invalidLabel(workers, 0), nonFinite(workers, 0);
    ensureScratch(size_t(workers) * scratch);
    const TileKernel kernel = tileKernel();
    parallelRanges(units, workers, [&](int w, int64_t begin, int64_t end) {
      TilePartials partials;
      partials.moments = sums.data() + w * perWorker;
      partials.pixelValues = partials.moments + momentsSize;
      partials.mapValue = partials.moments + mapValueAt;
      partials.confusion = partials.moments + confusionAt;
      partials.specialTileValues = partials.moments + tilesAt;
      partials.topk = topkCandidates_.empty() ? nullptr : &topkCandidates_[static_cast<size_t>(w)];
      kernel(job_, begin, end, scratch_.get() + w * scratch, partials);
      valid[w] = partials.validPixels;
      invalidLabel[w] = partials.invalidLabel;
      nonFinite[w] = partials.nonFinite;
    });
    if (job_.checkInputs) throwForBadInputs(invalidLabel, nonFinite);
    Sums merged;
    merged.moments.assign(sums.begin(), sums.begin() + momentsSize);
    merged.pixelValues.assign(sums.begin() + momentsSize, sums.begin() + mapValueAt);
    merged.mapValue = sums[mapValueAt];
    merged.confusion.assign(sums.begin() + confusionAt, sums.begin() + tilesAt);
    merged.specialTileValues.assign(sums.begin() + tilesAt, sums.begin() + perWorker);
    merged.validPixels = valid[0];
    for (int w = 1; w < workers; ++w) {
      const double* part = sums.data() + w * perWorker;
      for (size_t i = 0; i < momentsSize; ++i) merged.moments[i] += part[i];
      for (size_t k = 0; k < pixelRefs_.size(); ++k) merged.pixelValues[k] += part[momentsSize + k];
      merged.mapValue += part[mapValueAt];
      for (size_t i = 0; i < confusionCount; ++i) merged.confusion[i] += part[confusionAt + i];
      for (size_t i = 0; i < specialTileRefs_.size(); ++i) merged.specialTileValues[i] += part[tilesAt + i];
      merged.validPixels += valid[w];
    }
    return merged;
  }

  // After a checking pass: LossArgumentError naming the first bad label, else the first
  // non-finite logit (located by a scan that only runs in this case).
  void throwForBadInputs(const std::vector<char>& invalidLabel, const std::vector<char>& nonFinite) const {
    if (std::find(invalidLabel.begin(), invalidLabel.end(), 1) != invalidLabel.end()) {
      throw LossArgumentError("label outside [0, K) at flat index " + std::to_string(findInvalidLabel(tensors_)));
    }
    if (std::find(nonFinite.begin(), nonFinite.end(), 1) != nonFinite.end()) {
      throw LossArgumentError("non-finite logit at flat index " + std::to_string(findNonFiniteLogit(tensors_)));
    }
  }

  // Σ weight · head value; fills coefficients_ (and confusionRows_ with Confusion terms). No valid
  // pixel: value 0 and zero coefficients.
  double regionHeads(const Sums& sums) {
    const size_t groups = size_t(job_.batch) * job_.classes;
    coefficients_.assign(groups * kCoefficientCount, 0.0);
    confusionRows_.assign(sums.confusion.size(), 0.0);
    if (sums.validPixels == 0) return 0.0;
    std::vector<double> dmoments(groups * kMomentCount);
    std::vector<double> dconfusion(sums.confusion.size());
    double value = 0.0;
    for (const size_t k : terms_.region) {
      std::fill(dmoments.begin(), dmoments.end(), 0.0);
      const double w = terms_.weights[k];
      std::visit([&](const auto& loss) {
        using Loss = std::decay_t<decltype(loss)>;
        if constexpr (usesConfusion<Loss>()) {
          std::fill(dconfusion.begin(), dconfusion.end(), 0.0);
          const bool confusion = loss.needsConfusion(job_.normalized);  // else the head reads region moments only
          value += w * loss.head(sums.moments.data(), dmoments.data(), confusion ? sums.confusion.data() : nullptr,
                                 confusion ? dconfusion.data() : nullptr, job_.batch, job_.classes);
          for (size_t i = 0; i < dconfusion.size(); ++i) confusionRows_[i] += w * dconfusion[i];
        } else if constexpr (isRegionLoss<Loss>()) {
          value += w * loss.head(sums.moments.data(), dmoments.data(), job_.batch, job_.classes);
        }
      }, terms_.functors[k]);
      foldMomentGradients(dmoments.data(), w);
    }
    return value;
  }

  // coefficients_ += weight · the per-pixel coefficients of d value / d moments [B, K, kMomentCount]
  // (d value / d p = dP + dPG·g + 2p·(dP2 + dP2G·g)).
  void foldMomentGradients(const double* dmoments, double weight) {
    const size_t groups = size_t(job_.batch) * job_.classes;
    for (size_t g = 0; g < groups; ++g) {
      const double* d = dmoments + g * kMomentCount;
      double* c = coefficients_.data() + g * kCoefficientCount;
      c[0] += weight * d[kMomentP];
      c[1] += weight * d[kMomentPG];
      c[2] += weight * 2.0 * d[kMomentP2];
      c[3] += weight * 2.0 * d[kMomentP2G];
    }
  }

  // The buffers of the special terms (those some term needs, special_batch.h): the activation and
  // labels the Statistics pass stores, and the summed u the Gradient pass reads.
  void allocateActivation() {
    const size_t element = job_.dtype == ScalarType::Float64 ? sizeof(double) : sizeof(float);
    const size_t pixels = size_t(job_.batch) * job_.pixels;
    const size_t cells = pixels * job_.classes;
    if (needs_.prob) prob_ = batchBuffer(cells * element, BufferFill::Overwritten);
    if (needs_.logProb) logProb_ = batchBuffer(cells * element, BufferFill::Overwritten);
    if (needs_.trueLogProb) trueLogProb_ = batchBuffer(pixels * element, BufferFill::Overwritten);
    termsNeedLogProb_ = job_.needLogProb;
    // log p_t under softmax comes from z_t − lse (storeActivation); other activations need the rows.
    job_.needLogProb = job_.needLogProb || needs_.logProb ||
                       (needs_.trueLogProb && job_.activation != PixelActivationKind::Softmax);
    labels_ = batchBuffer(pixels * sizeof(int32_t), BufferFill::Overwritten);  // every label is written by the Statistics pass
    job_.probOut = prob_.get();
    job_.logProbOut = logProb_.get();
    job_.trueLogProbOut = trueLogProb_.get();
    job_.labelOut = reinterpret_cast<int32_t*>(labels_.get());
  }

  // Σ weight · special term value; with grad, Σ weight · d value / d p into specialDprob_ and
  // Σ weight · u_t into specialTrueU_ (zeroed first). No valid pixel: value 0 and zero gradients.
  template <typename T>
  double specialTerms(T, const Sums& sums, bool withGrad) {
    job_.probOut = job_.logProbOut = job_.trueLogProbOut = nullptr;
    job_.labelOut = nullptr;
    job_.needLogProb = termsNeedLogProb_;  // the gradient pass computes only what the other terms read
    const size_t pixels = size_t(job_.batch) * job_.pixels;
    SpecialGrad<T> grad;
    if (withGrad) {
      specialTrueU_ = batchBuffer(pixels * sizeof(T));  // zeroed
      grad.trueU = reinterpret_cast<T*>(specialTrueU_.get());
      if (needs_.dprob) {
        specialDprob_ = batchBuffer(pixels * job_.classes * sizeof(T));
        grad.dprob = reinterpret_cast<T*>(specialDprob_.get());
      }
      if (needs_.u) {
        specialU_ = batchBuffer(pixels * job_.classes * sizeof(T));
        grad.u = reinterpret_cast<T*>(specialU_.get());
      }
    }
    if (sums.validPixels == 0) return 0.0;
    std::vector<double> dmoments(withGrad && specialMoments_ ? sums.moments.size() : 0, 0.0);
    grad.dmoments = dmoments.empty() ? nullptr : dmoments.data();
    ActivatedBatch<T> in;
    in.moments = sums.moments.data();
    in.prob = reinterpret_cast<const T*>(prob_.get());
    in.logProb = reinterpret_cast<const T*>(logProb_.get());
    in.trueLogProb = reinterpret_cast<const T*>(trueLogProb_.get());
    in.label = reinterpret_cast<const int32_t*>(labels_.get());
    in.batch = job_.batch;
    in.classes = job_.classes;
    in.pixels = job_.pixels;
    in.validPixels = sums.validPixels;
    in.normalized = job_.normalized;
    double value = 0.0;
    for (size_t i = 0; i < terms_.special.size(); ++i) {
      const size_t k = terms_.special[i];
      const int tile = specialTileOf_[i];
      in.tileSum = tile >= 0 ? sums.specialTileValues[tile] : 0.0;
      grad.tileGradScale = tile >= 0 && withGrad ? &specialTileRefs_[tile].gradScale : nullptr;
      std::visit([&](const auto& loss) {
        if constexpr (isSpecialLoss<std::decay_t<decltype(loss)>>()) {
          value += terms_.weights[k] * loss.run(in, grad, terms_.weights[k]);
        }
      }, terms_.functors[k]);
    }
    if (grad.dmoments) foldMomentGradients(grad.dmoments, 1.0);  // the terms' weights are in their factor
    return value;
  }

  // Σ weight · d term / d state over the region terms with learned state.
  double stateGradients(const Sums& sums) const {
    double total = 0.0;
    for (const size_t k : terms_.region) {
      std::visit([&](const auto& loss) {
        if constexpr (hasLearnedState<std::decay_t<decltype(loss)>>()) {
          total += terms_.weights[k] * loss.stateGradient(sums.moments.data(), job_.batch, job_.classes);
        }
      }, terms_.functors[k]);
    }
    return total;
  }

  void ensureScratch(size_t bytes) {
    if (bytes + 64 > scratchBytes_) {
      scratch_.reset(new unsigned char[bytes + 64]);
      scratchBytes_ = bytes + 64;
    }
  }

  const LossTensors& tensors_;
  std::vector<TopkCandidates> topkCandidates_;  // runTopkOnePass: one per worker of its pass
  const EngineTerms& terms_;
  TileJob job_;
  std::vector<PixelTermRef> pixelRefs_;
  std::vector<double> pixelNormalizerFactor_;
  std::vector<double> pixelSmoothing_;  // [K] (TileJob::pixelSmoothing)
  std::vector<double> coefficients_;  // [B, K, kCoefficientCount]
  std::vector<double> confusionRows_;  // [B, K, K] Σ weight · d value / d C (Confusion terms)
  std::vector<PreparedMapTerm> mapPrepared_;
  std::vector<MapTermRef> mapRefs_;
  std::unique_ptr<unsigned char[]> scratch_;
  size_t scratchBytes_ = 0;
  SpecialNeeds needs_;                            // the union over the special terms
  std::vector<SpecialTileRef> specialTileRefs_;  // the special terms' tile parts (TileJob::specialTiles)
  std::vector<int> specialTileOf_;               // per special term: its index in specialTileRefs_, or −1
  bool specialMoments_ = false;                  // some special term has a part on the region moments
  bool termsNeedLogProb_ = false;                 // job_.needLogProb of the pixel-wise and map terms alone
  BatchBuffer prob_;          // [B, K, N] dtype, when needs_.prob
  BatchBuffer logProb_;       // [B, K, N] dtype, when needs_.logProb
  BatchBuffer trueLogProb_;   // [B, N] dtype, when needs_.trueLogProb
  BatchBuffer labels_;        // [B, N] int32
  BatchBuffer specialDprob_;  // [B, K, N] dtype: Σ weight · d value / d p, when needs_.dprob
  BatchBuffer specialU_;      // [B, K, N] dtype: Σ weight · p · d value / d p, when needs_.u
  BatchBuffer specialTrueU_;  // [B, N] dtype: Σ weight · u of the true class
};

}  // namespace

TileJob tileJobOf(const LossTensors& tensors) {
  TileJob job;
  job.logits = tensors.logits;
  job.target = tensors.target;
  job.dtype = tensors.dtype;
  job.labelType = tensors.labelType;
  job.activation = resolveActivation(tensors.activation, tensors.channels);
  job.batch = tensors.batch;
  job.channels = tensors.channels;
  job.pixels = tensors.pixels;
  job.classes = probabilityClasses(tensors.channels);
  return job;
}

// return fn(args…) of the kernels of the instruction set chosen at load (cpu_isa.h).
#define SEGLOSS_ON_ACTIVE_ISA(fn, ...)                                 \
  switch (activeCpuIsa()) {                                            \
    case CpuIsa::Avx512: return isa_avx512::fn(__VA_ARGS__);           \
    case CpuIsa::Avx2: return isa_avx2::fn(__VA_ARGS__);               \
    default: return isa_sse2::fn(__VA_ARGS__);                         \
  }

void activateImagesCpu(const TileJob& job, int64_t begin, int64_t end, void* workspace, void* prob, void* logProb) {
  SEGLOSS_ON_ACTIVE_ISA(activateImages, job, begin, end, workspace, prob, logProb)
}
void negatedLogPowersCpu(const float* logp, int64_t n, float gamma, float* out) {
  SEGLOSS_ON_ACTIVE_ISA(negatedLogPowers, logp, n, gamma, out)
}
void negatedLogPowersCpu(const double* logp, int64_t n, double gamma, double* out) {
  SEGLOSS_ON_ACTIVE_ISA(negatedLogPowers, logp, n, gamma, out)
}
bool hasNonFiniteCpu(const float* z, int n) { SEGLOSS_ON_ACTIVE_ISA(hasNonFinite, z, n) }
bool hasNonFiniteCpu(const double* z, int n) { SEGLOSS_ON_ACTIVE_ISA(hasNonFinite, z, n) }
void sigmoidSoftplusCpu(const float* z, int64_t n, float* sigmoid, float* softplus) {
  SEGLOSS_ON_ACTIVE_ISA(sigmoidSoftplus, z, n, sigmoid, softplus)
}
void sigmoidSoftplusCpu(const double* z, int64_t n, double* sigmoid, double* softplus) {
  SEGLOSS_ON_ACTIVE_ISA(sigmoidSoftplus, z, n, sigmoid, softplus)
}
#undef SEGLOSS_ON_ACTIVE_ISA

double computeLossCpu(const LossTensors& tensors, const std::vector<WeightedLossOptions>& terms,
                      const LossGradient* grad) {
  checkShape(tensors);
  if (terms.empty()) throw LossArgumentError("no loss term");
  resolveActivation(tensors.activation, tensors.channels);
  EngineTerms engine = engineTerms(terms, probabilityClasses(tensors.channels));
  const std::vector<std::vector<double>> targetCounts = bindTargetCounts(engine, tensors);
  double value = 0.0;
  bool accumulate = grad && grad->accumulate;
  bool checked = false;  // labels and logits checked (the tile passes check them on the way)
  if (!engine.pixel.empty() || !engine.region.empty() || !engine.special.empty() || !engine.map.empty()) {
    CpuDriver driver(tensors, engine);
    // topk alone: its one-pass path when it applies (else, or when it gives way, the passes below)
    const TopKLoss* topk = engine.functors.size() == 1 ? std::get_if<TopKLoss>(&engine.functors[0]) : nullptr;
    if (topk) {
      if (const std::optional<double> v = driver.runTopkOnePass(*topk, engine.weights[0], grad)) return *v;
    }
    value = driver.run(grad);
    accumulate = true;
    checked = true;
  }
  // Planar terms (rmi) after the tile engine, each adding its weighted gradient.
  for (const size_t k : engine.planar) {
    LossGradient termGrad;
    if (grad) termGrad = LossGradient{grad->data, grad->scale * engine.weights[k], accumulate, grad->stateGrad};
    std::visit([&](const auto& loss) {
      if constexpr (isPlanarLoss<std::decay_t<decltype(loss)>>()) {
        value += engine.weights[k] * loss.runCpu(tensors, grad ? &termGrad : nullptr);
      }
    }, engine.functors[k]);
    accumulate = true;
  }
  // Batch-map terms (active boundary) add their gradients to what is there: write zeros first
  // when nothing has written it.
  if (!engine.batchMap.empty()) {
    if (!checked) checkInputs(tensors);
    if (grad && !accumulate) {
      const size_t bytes = (tensors.dtype == ScalarType::Float64 ? sizeof(double) : sizeof(float));
      detail::zeroBlock(static_cast<unsigned char*>(grad->data),
                        static_cast<size_t>(tensors.batch * tensors.channels * tensors.pixels) * bytes);  // on the workers
    }
    value += runBatchMapTerms(engine, tensors, grad);
  }
  return value;
}

double computeLossCpu(const LossTensors& tensors, const LossOptions& options, const LossGradient* grad) {
  return computeLossCpu(tensors, std::vector<WeightedLossOptions>{{options, 1.0}}, grad);
}

}  // namespace segloss
