// The CPU engine's job description, shared by the instruction-set-neutral driver (losses.cpp) and
// the kernels compiled once per instruction set (tile_kernels_cpu.h → tile_kernels_{sse2,avx2,
// avx512}.cpp). Plain data only: the kernels' object files must not share inline code with the
// rest of the addon (see cpu_isa.h).
//
// A job runs over units = (image, tile of kTilePixels pixels). Each unit activates its tile once
// (prob[K][tile], log prob[K][tile]) for all terms, then, by pass:
//   Statistics:        region moments per (image, class), confusion moments per (image, class pair)
//                      when a Confusion term asks, and the pixel-wise terms' value sums
//   Gradient:          d value / d logits (region terms through moment coefficients; pixel terms;
//                      special terms through their stored u, and their tile parts)
//   ValuesAndGradient: pixel-wise values and gradient in one pass (no region term)
// Map terms (map_terms.h) add their values in the passes that compute values, and their
// u = p · d value / d p to the region part of the gradient.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "activation.h"
#include "losses.h"
#include "map_terms.h"
#include "region_moments.h"

namespace segloss {

inline constexpr int kTilePixels = 128;

enum class PassKind : int { Statistics, Gradient, ValuesAndGradient };

// One pixel-wise term of the objective, as the kernels see it.
struct PixelTermRef {
  int lossIndex = 0;                // alternative of LossFunctor
  const void* functor = nullptr;    // the functor (type Losses alternative lossIndex)
  double gradFactor = 0.0;          // weight / Σ_valid w_t (0 when no valid pixel)
  const double* classWeights = nullptr;  // [K] w, or nullptr
  const double* classFactors = nullptr;  // [K] a, or nullptr
  double smoothing = 0.0;                // σ
  double complementFactor = 0.0;         // b of the channel complements (pixel_terms.h), 0: none
};

// One map term of the objective (map_terms.h), as the kernels see it.
struct MapTermRef {
  MapTermKind kind = MapTermKind::Linear;
  const double* const* maps = nullptr;  // [B] → image b's map: [K, N] (Linear, SquaredError) or [N] (TrueClassLog)
  const double* factors = nullptr;      // [K] w_c (0: class not in the mean); TrueClassLog: [1] w
  double offset = 0.0;                  // m = offset + the map's value (distance-map-ce: 1 + Φ)
};

// One special term with a per-pixel part computed in the tile passes (special_batch.h, kTilePart).
struct SpecialTileRef {
  int lossIndex = 0;              // alternative of LossFunctor
  const void* functor = nullptr;  // the functor
  double gradScale = 0.0;         // Gradient: the factor of its u (written by the term's run)
};

// Per-(image, class) gradient coefficients of all region terms together:
//   d value / d p = c[0] + c[1]·g + p·(c[2] + c[3]·g)   (c[2], c[3] include the 2 of d p²)
inline constexpr int kCoefficientCount = 4;

struct TileJob {
  const void* logits = nullptr;  // [B, C, N] dtype
  const void* target = nullptr;  // [B, N] labelType
  ScalarType dtype = ScalarType::Float32;
  LabelType labelType = LabelType::Int32;
  PixelActivationKind activation = PixelActivationKind::Softmax;
  int64_t batch = 0, channels = 0, pixels = 0;
  int classes = 0;                  // K
  bool ignoreMatches = false;       // whether some label value equals the ignore index
  int32_t ignoreLabel = -1;         // that value
  bool hasIgnore = false;           // int64 labels compare with the ignore index itself
  int64_t ignoreIndex = -100;

  PassKind pass = PassKind::Statistics;
  bool checkInputs = false;         // flag labels outside [0, K) and non-finite logits (first pass)
  const PixelTermRef* pixelTerms = nullptr;
  int pixelTermCount = 0;
  bool needLogProb = false;         // log-probability rows: some pixel term smooths, or the activation is not softmax
  const double* pixelSmoothing = nullptr;  // [K] Σ over pixel terms of gradFactor · σ · w_c (or nullptr)
  double pixelSmoothingSum = 0.0;          // Σ_c pixelSmoothing[c]
  bool pixelComplements = false;    // some pixel term has channel complements and the activation is the per-channel sigmoid
  MomentMask moments = 0;           // Statistics: the moments to accumulate ([B, K, kMomentCount])
  const double* coefficients = nullptr;  // Gradient: [B, K, kCoefficientCount], or nullptr (no region term)
  // Special terms (special_batch.h): the Statistics pass stores the activation and the labels of
  // every pixel, and the Gradient pass adds the special terms' u.
  void* probOut = nullptr;          // Statistics: [B, K, N] dtype, p; or nullptr
  void* logProbOut = nullptr;       // Statistics: [B, K, N] dtype, log p (needs needLogProb); or nullptr
  void* trueLogProbOut = nullptr;   // Statistics: [B, N] dtype, log p of the true class, 0 if ignored (softmax: z_t − lse; else needs needLogProb); or nullptr
  int32_t* labelOut = nullptr;      // Statistics: [B, N] class, −1 for ignored; or nullptr
  const void* specialDprob = nullptr;  // Gradient: [B, K, N] dtype, d value / d p of the special terms; or nullptr
  const void* specialU = nullptr;      // Gradient: [B, K, N] dtype, u = p · d value / d p of the special terms; or nullptr
  const void* specialTrueU = nullptr;  // Gradient: [B, N] dtype, the special terms' u of the true class; or nullptr
  const SpecialTileRef* specialTiles = nullptr;  // the special terms' tile parts: values (Statistics), u (Gradient)
  int specialTileCount = 0;
  bool normalized = true;              // Σ_c p_c = 1 (softmax and the C = 1 forms), for the tile parts
  bool confusion = false;           // Statistics: accumulate the confusion moments [B, K, K] (confusion_moments.h)
  const double* confusionRows = nullptr;  // Gradient: [B, K, K] d value / d C[a][c] added to the pixels of class a
                                          // (with coefficients set), or nullptr (no Confusion term)
  const MapTermRef* mapTerms = nullptr;
  int mapTermCount = 0;
  bool mapLogProb = false;          // some map term reads log p_t (softmax: the log-sum-exp row)

  void* grad = nullptr;             // [B, C, N] dtype (Gradient passes)
  double gradScale = 1.0;
  bool accumulate = false;

  // topk in one ValuesAndGradient pass (losses.cpp, runTopkOnePass; softmax only): every pixel
  // with v = −log p_t > topkLow is recorded in its worker's TopkCandidates; those with v > topkWrite
  // (≥ topkLow: the estimated threshold) get the true-class u topkU (as if selected), the others
  // no gradient.
  bool topkFused = false;
  double topkLow = 0.0;
  double topkWrite = 0.0;
  double topkU = 0.0;

  int64_t tiles() const { return (pixels + kTilePixels - 1) / kTilePixels; }
  int64_t units() const { return batch * tiles(); }
};

// One worker's record of the pixels a topkFused pass took as selected: their values and flat
// indices (b·N + i), in pixel order; overflow when there were more than capacity.
struct TopkCandidates {
  double* values = nullptr;
  int64_t* pixels = nullptr;
  int64_t capacity = 0;
  int64_t count = 0;
  bool overflow = false;
  int64_t* histogram = nullptr;  // [kTopkBuckets] the values' counts per topkBucket (lowKey: topkLow's)
  uint64_t lowKey = 0;
};

// topk's buckets of candidate values: their order-preserving 64-bit keys above the key of τ_low,
// in kTopkBuckets buckets of 2^kTopkBucketShift keys (512 per binade; the last one open-ended).
inline constexpr int kTopkBuckets = 4096;
inline constexpr int kTopkBucketShift = 43;

inline uint64_t orderedKey(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits >> 63) != 0 ? ~bits : bits | (uint64_t(1) << 63);
}

// (A candidate is above low's T-rounding, hence above low itself; a key at or below low's would
// still go to bucket 0, never wrap to the top.)
inline int topkBucket(double v, uint64_t lowKey) {
  const uint64_t key = orderedKey(v);
  const uint64_t offset = key > lowKey ? (key - lowKey) >> kTopkBucketShift : 0;
  return static_cast<int>(offset < uint64_t(kTopkBuckets - 1) ? offset : uint64_t(kTopkBuckets - 1));
}

// What a worker adds up over its units (buffers owned by the driver, zeroed).
struct TilePartials {
  double* moments = nullptr;      // [B, K, kMomentCount]
  double* pixelValues = nullptr;  // [pixelTermCount] Σ of unnormalised term values
  double* confusion = nullptr;    // [B, K, K] when TileJob::confusion
  double* mapValue = nullptr;     // [1] Σ over map terms of their (weighted, normalised) values
  double* specialTileValues = nullptr;  // [specialTileCount] Σ of the special tile parts' values (Statistics)
  int64_t validPixels = 0;
  bool invalidLabel = false;  // some label is outside [0, K) and not the ignore index (checkInputs)
  bool nonFinite = false;     // some logit is NaN or ±∞ (checkInputs)
  TopkCandidates* topk = nullptr;  // TileJob::topkFused: this worker's candidates
};

// Bytes of scratch one worker needs for a job.
inline size_t tileWorkspaceBytes(const TileJob& job) {
  const size_t element = job.dtype == ScalarType::Float64 ? sizeof(double) : sizeof(float);
  const size_t perClass = size_t(job.classes) * kTilePixels * element;
  return 4 * perClass + 13 * kTilePixels * element + kTilePixels * sizeof(int32_t) + 64;
}

// The kernels of each instruction set: run units [begin, end) of the job; and activateImages:
// the activation's p and log p ([B, K, N] dtype each) of the job's images [begin, end), tile by
// tile with the kernels' own vectorised activation (for losses that keep whole activated images,
// such as active-boundary; the job needs logits, dtype, activation, batch, channels, pixels and
// classes; workspace: tileWorkspaceBytes); and the elementwise helpers of vector_kernels.h.
#define SEGLOSS_DECLARE_TILE_KERNELS(ns) \
  namespace ns {                          \
  void runTiles(const TileJob& job, int64_t begin, int64_t end, void* workspace, TilePartials& partials); \
  void activateImages(const TileJob& job, int64_t begin, int64_t end, void* workspace, void* prob, void* logProb); \
  void negatedLogPowers(const float* logp, int64_t n, float gamma, float* out); \
  void sigmoidSoftplus(const float* z, int64_t n, float* sigmoid, float* softplus); \
  void sigmoidSoftplus(const double* z, int64_t n, double* sigmoid, double* softplus); \
  void negatedLogPowers(const double* logp, int64_t n, double gamma, double* out); \
  void rewriteTrueUGrad(const TileJob& job, const int64_t* pixels, int64_t count, double u, void* workspace); \
  void trueClassLosses(const TileJob& job, int64_t b, int64_t i0, int count, double* out, void* workspace); \
  bool hasNonFinite(const float* z, int n);                                           \
  bool hasNonFinite(const double* z, int n);                                          \
  }
SEGLOSS_DECLARE_TILE_KERNELS(isa_sse2)
SEGLOSS_DECLARE_TILE_KERNELS(isa_avx2)
SEGLOSS_DECLARE_TILE_KERNELS(isa_avx512)
#undef SEGLOSS_DECLARE_TILE_KERNELS

// A job over these tensors: logits, labels, their types, the resolved activation, the sizes and K.
TileJob tileJobOf(const LossTensors& tensors);

// activateImages of the instruction set chosen at load (cpu_isa.h).
void activateImagesCpu(const TileJob& job, int64_t begin, int64_t end, void* workspace, void* prob, void* logProb);

}  // namespace segloss
