// The CPU engine's kernels (the job: tile_engine_cpu.h), written once and compiled once per
// instruction set into namespace segloss::SEGLOSS_ISA_NAMESPACE by tile_kernels_{sse2,avx2,avx512}.cpp.
// Every loop below runs over the pixels of one tile with unit stride and no calls, so that it
// vectorises; loss functors enter only through their scalar, always-inlined trueClassTerm
// (pixel-wise losses) — region and special losses never run inside a pixel loop (region_moments.h,
// special_batch.h).
#pragma once

#ifndef SEGLOSS_ISA_NAMESPACE
#error "define SEGLOSS_ISA_NAMESPACE before including tile_kernels_cpu.h"
#endif

#include <algorithm>
#include <cstdint>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "confusion_moments.h"
#include "loss_list.h"
#include "math.h"
#include "tile_engine_cpu.h"
#include "vector_math.h"

namespace segloss::SEGLOSS_ISA_NAMESPACE {

constexpr int S = kTilePixels;

// Sums over a tile are kept in kLanes independent partial sums (one vector register's worth or
// more), so that the loops vectorise without reassociating floating-point additions; tiles are
// padded to a multiple of kLanes with pixels that contribute nothing (p = 0, label −1, valid 0).
constexpr int kLanes = 16;
static_assert(S % kLanes == 0);

SEGLOSS_INLINE int paddedCount(int n) { return (n + kLanes - 1) / kLanes * kLanes; }

// The math policy the kernels hand to pixel-wise functors (pixel_terms.h): the vectorisable
// polynomials of vector_math.h (libm for double).
struct TileMath {
  template <typename T>
  SEGLOSS_INLINE static T exp(T x) { return tileExp(x); }
  template <typename T>
  SEGLOSS_INLINE static T log(T x) { return tileLog(x); }
};

template <typename T>
SEGLOSS_INLINE T laneTotal(const T* lanes) {
  T total = T(0);
  for (int l = 0; l < kLanes; ++l) total += lanes[l];
  return total;
}

// Scratch of one worker, carved from the driver's buffer.
template <typename T>
struct TileScratch {
  T* prob;     // [K][S]
  T* logProb;  // [K][S]
  T* u;        // [K][S] p · d value / d p, then the gradient
  T* direct;   // [K][S] d value / d z of the pixel terms' channel complements (TileJob::pixelComplements)
  T* valid;    // [S] 1 or 0
  T* pt;       // [S] p of the true class (1 for ignored pixels)
  T* lpt;      // [S] log p of the true class (0 for ignored pixels)
  T* wt;       // [S] w_t (0 for ignored pixels)
  T* at;       // [S] a_t
  T* alpha;    // [S] per-pixel coefficient of the true class
  T* sum;      // [S]
  T* tmp;      // [S]
  T* lse;      // [S] log-sum-exp of the logits (softmax with pixel-wise terms)
  T* tau;      // [S] Σ over pixel-wise terms of their true-class gradient coefficient
  T* ubuf;     // [S] one class's p · d value / d p, as the gradient write builds it
  T* ubuf1;    // [S] the same for class 1 (binary activations)
  T* spread;   // [S] Σ_c (z_c − max z) of softmax tiles whose inputs are checked (finite iff every z is)
  int32_t* label;  // [S] class, or −1 for ignored pixels

  static TileScratch carve(void* raw, int classes) {
    T* base = reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(raw) + 63) & ~uintptr_t(63));
    const int64_t block = int64_t(classes) * S;
    TileScratch s;
    s.prob = base;
    s.logProb = s.prob + block;
    s.u = s.logProb + block;
    s.direct = s.u + block;
    T* row = s.direct + block;
    s.valid = row; s.pt = row + S; s.lpt = row + 2 * S; s.wt = row + 3 * S;
    s.at = row + 4 * S; s.alpha = row + 5 * S; s.sum = row + 6 * S; s.tmp = row + 7 * S;
    s.lse = row + 8 * S; s.tau = row + 9 * S; s.ubuf = row + 10 * S; s.ubuf1 = row + 11 * S;
    s.spread = row + 12 * S;
    s.label = reinterpret_cast<int32_t*>(row + 13 * S);
    return s;
  }
};

// ---- labels -------------------------------------------------------------------------------------

template <typename L, typename T>
void loadLabelsAs(const L* __restrict src, int n, bool ignoreMatches, int32_t ignoreLabel, int32_t* __restrict label,
                  T* __restrict valid) {
  for (int j = 0; j < n; ++j) {
    const int32_t t = static_cast<int32_t>(src[j]);
    const bool ignored = ignoreMatches && t == ignoreLabel;
    label[j] = ignored ? -1 : (t == -1 ? -2 : t);
    valid[j] = ignored ? T(0) : T(1);
  }
}

// int64 labels: compared with the ignore index as int64; values outside int32 become −2 (invalid).
template <typename T>
void loadWideLabels(const int64_t* __restrict src, int n, bool hasIgnore, int64_t ignoreIndex, int32_t* __restrict label,
                    T* __restrict valid) {
  for (int j = 0; j < n; ++j) {
    const int64_t t = src[j];
    const bool ignored = hasIgnore && t == ignoreIndex;
    const bool narrow = t >= -1 && t <= 2147483647;
    label[j] = ignored ? -1 : (narrow && t != -1 ? static_cast<int32_t>(t) : -2);
    valid[j] = ignored ? T(0) : T(1);
  }
}

// Whether some label of the tile is outside [0, K) (ignored pixels hold −1).
SEGLOSS_INLINE bool anyInvalidLabel(const int32_t* __restrict label, int n, int classes) {
  unsigned bad = 0;
  for (int j = 0; j < n; ++j) bad |= static_cast<unsigned>(label[j] >= classes) | static_cast<unsigned>(label[j] < -1);
  return bad != 0;
}

// Whether some of the tile's logits (C rows of n) is NaN or ±∞: z − z is 0 exactly for finite z.
// One flat loop per channel row with a bit per comparison (as softmaxSpreadNonFinite): lane sums
// carried across rows went through the stack between channels.
template <typename T>
bool anyNonFinite(const T* z, int64_t stride, int channels, int n) {
  unsigned bad = 0;
  for (int c = 0; c < channels; ++c) {
    const T* __restrict zc = z + c * stride;
    for (int j = 0; j < n; ++j) bad |= static_cast<unsigned>(!(zc[j] - zc[j] == T(0)));
  }
  return bad != 0;
}

// Whether the tile's spread (softmaxTile) holds NaN or ±∞: z − z is 0 exactly for finite z. A
// finite spread means every logit is finite: a NaN logit makes its pixel's spread NaN; +∞ makes the
// maximum +∞ and ∞ − ∞ NaN; −∞ gives −∞ (or NaN when the maximum is −∞ too). The converse can fail
// for finite logits near the float limit (z − max overflows), so a non-finite spread is confirmed
// on the logits themselves.
template <typename T>
SEGLOSS_INLINE bool softmaxSpreadNonFinite(const T* __restrict spread, int n) {
  unsigned bad = 0;
  for (int j = 0; j < n; ++j) bad |= static_cast<unsigned>(!(spread[j] - spread[j] == T(0)));
  return bad != 0;
}

// Whether some of the tile's logits is NaN or ±∞ (softmax tiles: from the activation's spread).
template <typename T, PixelActivationKind A>
SEGLOSS_INLINE bool logitsNonFinite(const T* z, const TileJob& job, int n, const TileScratch<T>& s) {
  if constexpr (A == PixelActivationKind::Softmax) {
    if (!softmaxSpreadNonFinite(s.spread, n)) return false;
  }
  return anyNonFinite(z, job.pixels, static_cast<int>(job.channels), n);
}

// Labels of n pixels from flat pixel at (b·N + i), without padding. A label below 0 other than the
// ignore index is kept as it is (< −1 or ≥ K) for anyInvalidLabel; none of the kernels indexes
// memory with a label.
template <typename T>
void loadLabelRun(const TileJob& job, int64_t at, int n, int32_t* label, T* valid) {
  switch (job.labelType) {
    case LabelType::UInt8:
      loadLabelsAs(static_cast<const uint8_t*>(job.target) + at, n, job.ignoreMatches, job.ignoreLabel, label, valid);
      break;
    case LabelType::UInt16:
      loadLabelsAs(static_cast<const uint16_t*>(job.target) + at, n, job.ignoreMatches, job.ignoreLabel, label, valid);
      break;
    case LabelType::Int64:
      loadWideLabels(static_cast<const int64_t*>(job.target) + at, n, job.hasIgnore, job.ignoreIndex, label, valid);
      break;
    default:
      loadLabelsAs(static_cast<const int32_t*>(job.target) + at, n, job.ignoreMatches, job.ignoreLabel, label, valid);
  }
}

// The labels of the padding [n, paddedCount(n)) of a tile: −1, not valid.
template <typename T>
void padLabels(int n, int32_t* label, T* valid) {
  for (int j = n; j < paddedCount(n); ++j) {
    label[j] = -1;
    valid[j] = T(0);
  }
}

// Labels of pixels [i0, i0 + n) of image b (the tile's padding after them); returns the number of
// valid ones.
template <typename T>
int loadLabels(const TileJob& job, int64_t b, int64_t i0, int n, int32_t* label, T* valid) {
  loadLabelRun(job, b * job.pixels + i0, n, label, valid);
  padLabels(n, label, valid);
  int count = 0;
  for (int j = 0; j < n; ++j) count += label[j] >= 0;
  return count;
}

// Zero probabilities in the padding [n, paddedCount(n)) of every class.
template <typename T>
void padTile(TileScratch<T>& s, int classes, int n) {
  for (int c = 0; c < classes; ++c) {
    for (int j = n; j < paddedCount(n); ++j) {
      s.prob[c * S + j] = T(0);
      s.logProb[c * S + j] = T(0);
    }
  }
}

// ---- activations --------------------------------------------------------------------------------

// prob_c = e^{z_c − max z} and sum = Σ_c prob_c (kSpread: spread = Σ_c (z_c − max z) too).
template <bool kSpread, typename T>
SEGLOSS_INLINE void softmaxExponentials(const T* __restrict z, int64_t stride, int channels, int n,
                                        const T* __restrict maxz, T* __restrict prob, T* __restrict sum,
                                        T* __restrict spread) {
  for (int j = 0; j < n; ++j) sum[j] = T(0);
  if constexpr (kSpread) {
    for (int j = 0; j < n; ++j) spread[j] = T(0);
  }
  for (int c = 0; c < channels; ++c) {
    const T* __restrict zc = z + c * stride;
    T* __restrict pc = prob + c * S;
    for (int j = 0; j < n; ++j) {
      const T shifted = zc[j] - maxz[j];
      pc[j] = tileExp(shifted);
      sum[j] += pc[j];
      if constexpr (kSpread) spread[j] += shifted;
    }
  }
}

// Probabilities (and, withLse, maxz becomes the log-sum-exp; withLog, the log-probabilities).
// spread (when not null): spread[j] = Σ_c (z_cj − max_c z_cj), finite when every z_cj is (NaN or
// ±∞ in a pixel's logits makes it NaN or −∞; see softmaxSpreadNonFinite), for one more add per
// element of the exponential loop instead of a separate pass over the logits.
template <typename T>
void softmaxTile(const T* __restrict z, int64_t stride, int channels, int n, T* __restrict prob,
                 T* __restrict logProb, bool withLse, bool withLog, T* __restrict maxz, T* __restrict sum,
                 T* __restrict spread = nullptr) {
  for (int j = 0; j < n; ++j) maxz[j] = z[j];
  for (int c = 1; c < channels; ++c) {
    const T* __restrict zc = z + c * stride;
    for (int j = 0; j < n; ++j) maxz[j] = zc[j] > maxz[j] ? zc[j] : maxz[j];
  }
  if (spread != nullptr) {
    softmaxExponentials<true>(z, stride, channels, n, maxz, prob, sum, spread);
  } else {
    softmaxExponentials<false>(z, stride, channels, n, maxz, prob, sum, spread);
  }
  if (withLse || withLog) {
    for (int j = 0; j < n; ++j) maxz[j] += tileLog(sum[j]);  // log-sum-exp
  }
  for (int j = 0; j < n; ++j) sum[j] = T(1) / sum[j];
  for (int c = 0; c < channels; ++c) {
    T* __restrict pc = prob + c * S;
    for (int j = 0; j < n; ++j) pc[j] *= sum[j];
  }
  if (!withLog) return;
  for (int c = 0; c < channels; ++c) {
    const T* __restrict zc = z + c * stride;
    T* __restrict lc = logProb + c * S;
    for (int j = 0; j < n; ++j) lc[j] = zc[j] - maxz[j];
  }
}

// σ(sign · z) and log σ(sign · z) for one class.
template <typename T>
void sigmoidClass(const T* __restrict z, T sign, int n, T* __restrict pc, T* __restrict lc) {
  for (int j = 0; j < n; ++j) {
    const T x = sign * z[j];
    const T e = tileExp(-(x < T(0) ? -x : x));  // e^{−|x|} ∈ (0, 1]
    pc[j] = x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    lc[j] = -(x < T(0) ? -x : T(0)) - tileLog1p(e);  // log σ(x) = −softplus(−x)
  }
}

// Caller-given probabilities for one class (complement: 1 − z).
template <typename T>
void givenClass(const T* __restrict z, bool complement, int n, T* __restrict pc, T* __restrict lc, bool withLog) {
  for (int j = 0; j < n; ++j) pc[j] = complement ? T(1) - z[j] : z[j];
  if (!withLog) return;
  constexpr T floor = ProbabilityFloor<T>::value;
  for (int j = 0; j < n; ++j) lc[j] = tileLog(pc[j] > floor ? pc[j] : floor);
}

template <typename T, PixelActivationKind A>
void activateTile(const TileJob& job, const T* z, int n, TileScratch<T>& s) {
  const int64_t stride = job.pixels;
  const int channels = static_cast<int>(job.channels);
  if constexpr (A == PixelActivationKind::Softmax) {
    const bool withLse = job.pixelTermCount > 0 || job.mapLogProb || job.trueLogProbOut != nullptr || job.topkFused;
    softmaxTile(z, stride, channels, n, s.prob, s.logProb, withLse, job.needLogProb, s.lse, s.sum,
                job.checkInputs ? s.spread : nullptr);
  } else if constexpr (A == PixelActivationKind::Sigmoid) {
    for (int c = 0; c < channels; ++c) sigmoidClass(z + c * stride, T(1), n, s.prob + c * S, s.logProb + c * S);
  } else if constexpr (A == PixelActivationKind::BinarySigmoid) {
    sigmoidClass(z, T(-1), n, s.prob, s.logProb);
    sigmoidClass(z, T(1), n, s.prob + S, s.logProb + S);
  } else if constexpr (A == PixelActivationKind::None) {
    for (int c = 0; c < channels; ++c) givenClass(z + c * stride, false, n, s.prob + c * S, s.logProb + c * S, job.needLogProb);
  } else {
    givenClass(z, true, n, s.prob, s.logProb, job.needLogProb);
    givenClass(z, false, n, s.prob + S, s.logProb + S, job.needLogProb);
  }
}

// ---- region moments -----------------------------------------------------------------------------

// Adds the tile's moments of class c (those in Mask) to m[kMomentCount]; n is a multiple of
// kLanes (padded tile); float lane sums per tile, then float64.
template <MomentMask Mask, typename T>
void classMoments(const T* __restrict p, const int32_t* __restrict label, const T* __restrict valid, int c, int n,
                  double* m) {
  T sP[kLanes] = {}, sPG[kLanes] = {}, sG[kLanes] = {}, sP2[kLanes] = {}, sP2G[kLanes] = {};
  for (int j0 = 0; j0 < n; j0 += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const int j = j0 + l;
      const bool is = label[j] == c;
      const T g = is ? T(1) : T(0);
      const T pg = is ? p[j] : T(0);
      const T vp = valid[j] * p[j];
      if constexpr ((Mask & momentBit(kMomentP)) != 0) sP[l] += vp;
      if constexpr ((Mask & momentBit(kMomentPG)) != 0) sPG[l] += pg;
      if constexpr ((Mask & momentBit(kMomentG)) != 0) sG[l] += g;
      if constexpr ((Mask & momentBit(kMomentP2)) != 0) sP2[l] += vp * p[j];
      if constexpr ((Mask & momentBit(kMomentP2G)) != 0) sP2G[l] += pg * p[j];
    }
  }
  if constexpr ((Mask & momentBit(kMomentP)) != 0) m[kMomentP] += laneTotal(sP);
  if constexpr ((Mask & momentBit(kMomentPG)) != 0) m[kMomentPG] += laneTotal(sPG);
  if constexpr ((Mask & momentBit(kMomentG)) != 0) m[kMomentG] += laneTotal(sG);
  if constexpr ((Mask & momentBit(kMomentP2)) != 0) m[kMomentP2] += laneTotal(sP2);
  if constexpr ((Mask & momentBit(kMomentP2G)) != 0) m[kMomentP2G] += laneTotal(sP2G);
}

template <MomentMask Mask, typename T>
void tileMoments(const TileScratch<T>& s, int classes, int n, double* m /* [K][kMomentCount] */) {
  for (int c = 0; c < classes; ++c) classMoments<Mask>(s.prob + c * S, s.label, s.valid, c, n, m + c * kMomentCount);
}

// The moment sets losses use get their own loop; any other set computes all five.
template <typename T>
void accumulateTileMoments(MomentMask mask, const TileScratch<T>& s, int classes, int n, double* m) {
  constexpr MomentMask pg = momentBit(kMomentPG) | momentBit(kMomentG);
  constexpr MomentMask all = (1u << kMomentCount) - 1;
  if (mask == 0) return;
  if ((mask | pg | momentBit(kMomentP)) == (pg | momentBit(kMomentP))) {
    tileMoments<pg | momentBit(kMomentP)>(s, classes, n, m);
  } else if ((mask | pg | momentBit(kMomentP2)) == (pg | momentBit(kMomentP2))) {
    tileMoments<pg | momentBit(kMomentP2)>(s, classes, n, m);
  } else {
    tileMoments<all>(s, classes, n, m);
  }
}

// Whether some of the tile's n (padded) pixels has label a (ignored and padding pixels hold −1).
SEGLOSS_INLINE bool labelPresent(const int32_t* __restrict label, int a, int n) {
  unsigned any = 0;
  for (int j = 0; j < n; ++j) any |= static_cast<unsigned>(label[j] == a);
  return any != 0;
}

// conf[a][c] += Σ_{j: label_j = a} p_c[j] for the classes a present in the tile (most tiles hold
// one or a few), over the n (padded) pixels.
template <typename T>
void tileConfusion(const TileScratch<T>& s, int classes, int n, double* conf /* [K][K] */) {
  const int32_t* __restrict label = s.label;
  for (int a = 0; a < classes; ++a) {
    if (!labelPresent(label, a, n)) continue;
    for (int c = 0; c < classes; ++c) {
      const T* __restrict p = s.prob + c * S;
      T lanes[kLanes] = {};
      for (int j0 = 0; j0 < n; j0 += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
          const T is = label[j0 + l] == a ? T(1) : T(0);
          lanes[l] += is * p[j0 + l];
        }
      }
      conf[a * classes + c] += static_cast<double>(laneTotal(lanes));
    }
  }
}

// u_c += [t = a] · p_c · rows[a][c] for the classes a present in the tile (the Confusion terms'
// part of u = p · d value / d p; s.u already holds the region part).
template <typename T>
void confusionTileGrad(const double* rows /* [K][K] */, const TileScratch<T>& s, int classes, int n) {
  const int32_t* __restrict label = s.label;
  for (int a = 0; a < classes; ++a) {
    if (!labelPresent(label, a, n)) continue;
    for (int c = 0; c < classes; ++c) {
      const T r = static_cast<T>(rows[a * classes + c]);
      const T* __restrict pc = s.prob + c * S;
      T* __restrict uc = s.u + c * S;
      for (int j = 0; j < n; ++j) {
        const T is = label[j] == a ? T(1) : T(0);
        uc[j] += is * r * pc[j];
      }
    }
  }
}

// ---- pixel-wise terms ---------------------------------------------------------------------------

// dst[j] (+)= [label_j = c] · row[j]: the true class's entry of a per-class row, as a product
// (no conditional load, no gather).
template <typename T>
void selectClass(const T* __restrict row, const int32_t* __restrict label, int c, int n, T* __restrict dst) {
  for (int j = 0; j < n; ++j) dst[j] += (label[j] == c ? T(1) : T(0)) * row[j];
}
template <typename T>
void selectConstant(T value, const int32_t* __restrict label, int c, int n, T* __restrict dst) {
  for (int j = 0; j < n; ++j) dst[j] += label[j] == c ? value : T(0);
}

// p_t, log p_t, w_t (0 for ignored pixels) and a_t of the tile's n (padded) pixels for one term;
// `real` ≤ n of them are image pixels (the logits are read only there). Ignored and padding pixels
// get p_t = 1 and log p_t = 0. With softmax, log p_t = z_t − lse (no log-probability rows needed).
template <typename T>
void gatherTrueClass(const TileJob& job, const PixelTermRef& term, const T* z, const TileScratch<T>& s, int n, int real) {
  const int classes = job.classes;
  T* __restrict pt = s.pt;
  T* __restrict lpt = s.lpt;
  T* __restrict wt = s.wt;
  T* __restrict at = s.at;
  const T* __restrict valid = s.valid;
  for (int j = 0; j < n; ++j) {
    pt[j] = T(0); lpt[j] = T(0);
  }
  // p_t and the true class's log p (or z) in one loop per class; the logits exist for the real
  // pixels only, and the padding's label (−1) selects nothing
  const bool fromLogits = job.activation == PixelActivationKind::Softmax;
  const int m = fromLogits ? real : n;
  const int32_t* __restrict label = s.label;
  for (int c = 0; c < classes; ++c) {
    const T* __restrict pc = s.prob + c * S;
    const T* __restrict lc = fromLogits ? z + c * job.pixels : s.logProb + c * S;
    for (int j = 0; j < m; ++j) {
      const T g = label[j] == c ? T(1) : T(0);
      pt[j] += g * pc[j];
      lpt[j] += g * lc[j];
    }
  }
  if (fromLogits) {
    const T* __restrict lse = s.lse;
    for (int j = 0; j < real; ++j) lpt[j] = valid[j] * (lpt[j] - lse[j]);
  }
  for (int j = 0; j < n; ++j) pt[j] += T(1) - valid[j];
  if (term.classWeights) {
    for (int j = 0; j < n; ++j) wt[j] = T(0);
    for (int c = 0; c < classes; ++c) selectConstant(static_cast<T>(term.classWeights[c]), s.label, c, n, wt);
  } else {
    for (int j = 0; j < n; ++j) wt[j] = valid[j];
  }
  if (term.classFactors) {
    for (int j = 0; j < n; ++j) at[j] = T(0);
    for (int c = 0; c < classes; ++c) selectConstant(static_cast<T>(term.classFactors[c]), s.label, c, n, at);
  } else {
    for (int j = 0; j < n; ++j) at[j] = T(1);
  }
}

// The channel complements of a pixel-wise term (pixel_terms.h) under the per-channel sigmoid: at
// every valid pixel and channel c ≠ t, w_t · f(r_c, log r_c, b) with r_c = 1 − p_c and
// log r_c = log p_c − z_c (= −softplus(z_c), exact where r_c underflows), its value added to lanes
// and gradFactor · d/dz_c = −factor · w_t · A · p_c to s.direct (written to the logits' gradient
// after the Jacobian). Like the true-class loop above, GCC 12 does not vectorise focal's body here
// (its if-conversion fails: "bad loop form"); CE's does.
template <class Loss, typename T>
void complementTermsTile(const Loss& loss, const TileJob& job, const PixelTermRef& term, const T* z,
                         const TileScratch<T>& s, int n, int real, T factor, T* lanes) {
  const T b = static_cast<T>(term.complementFactor);
  const T* __restrict wt = s.wt;
  const int32_t* __restrict label = s.label;
  T* __restrict logR = s.tmp;
  for (int c = 0; c < job.classes; ++c) {
    const T* __restrict zc = z + c * job.pixels;
    const T* __restrict lc = s.logProb + c * S;
    const T* __restrict pc = s.prob + c * S;
    T* __restrict dc = s.direct + c * S;
    for (int j = 0; j < real; ++j) logR[j] = lc[j] - zc[j];
    for (int j = real; j < n; ++j) logR[j] = T(0);
    for (int j0 = 0; j0 < n; j0 += kLanes) {
      for (int l = 0; l < kLanes; ++l) {
        const int j = j0 + l;
        const T other = label[j] == c ? T(0) : T(1);
        const T m = other * wt[j];
        T A;
        const T f = loss.template trueClassTerm<TileMath>(T(1) - pc[j], logR[j], b, A);
        lanes[l] += m * f;
        dc[j] -= factor * m * A * pc[j];
      }
    }
  }
}

// Runs one pixel-wise term on the tile: returns its value sum (when `values`) and, when
// `gradient`, adds gradFactor · w_t · A to the true-class coefficients tau (the smoothing part of
// the gradient is per class and constant: TileJob::pixelSmoothing).
template <class Loss, typename T>
double pixelTermTile(const Loss& loss, const TileJob& job, const PixelTermRef& term, const T* z,
                     const TileScratch<T>& s, int n, int real, bool values, bool gradient) {
  gatherTrueClass(job, term, z, s, n, real);
  const T* __restrict pt = s.pt;
  const T* __restrict lpt = s.lpt;
  const T* __restrict wt = s.wt;
  const T* __restrict at = s.at;
  const T* __restrict valid = s.valid;
  T* __restrict tau = s.tau;
  T* __restrict sum = s.sum;
  // tau is updated unconditionally (with factor 0 when no gradient is wanted): a branch in this
  // loop keeps GCC from vectorising the larger functor bodies (it does not unswitch them).
  const T factor = gradient ? static_cast<T>(term.gradFactor) : T(0);
  T lanes[kLanes] = {};
  for (int j0 = 0; j0 < n; j0 += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const int j = j0 + l;
      T A;
      const T f = loss.template trueClassTerm<TileMath>(pt[j], lpt[j], at[j], A);
      lanes[l] += wt[j] * f;
      tau[j] += factor * wt[j] * A;
    }
  }
  if (job.pixelComplements && term.complementFactor != 0.0) complementTermsTile(loss, job, term, z, s, n, real, factor, lanes);
  const T sigma = static_cast<T>(term.smoothing);
  if (sigma != T(0) && values) {
    for (int j = 0; j < n; ++j) sum[j] = T(0);
    for (int c = 0; c < job.classes; ++c) {
      const T wc = term.classWeights ? static_cast<T>(term.classWeights[c]) : T(1);
      const T* __restrict lc = s.logProb + c * S;
      for (int j = 0; j < n; ++j) sum[j] += wc * lc[j];
    }
    for (int j0 = 0; j0 < n; j0 += kLanes) {
      for (int l = 0; l < kLanes; ++l) lanes[l] -= sigma * valid[j0 + l] * sum[j0 + l];
    }
  }
  return values ? static_cast<double>(laneTotal(lanes)) : 0.0;
}

template <typename T>
double runPixelTerm(const TileJob& job, const PixelTermRef& term, const T* z, const TileScratch<T>& s, int n,
                    int real, bool values, bool gradient) {
  double value = 0.0;
  int index = 0;
  Losses::forEach([&]<class Loss>() {
    if constexpr (isPixelLoss<Loss>()) {
      if (term.lossIndex == index) {
        value = pixelTermTile(*static_cast<const Loss*>(term.functor), job, term, z, s, n, real, values, gradient);
      }
    }
    ++index;
  });
  return value;
}

// ---- map terms (map_terms.h) ---------------------------------------------------------------------

// row[j] = valid_j · (offset + map[j]) for the tile's `real` pixels (as T), 0 in the padding up to n.
template <typename T>
void loadMapRow(const double* __restrict map, double offset, const T* __restrict valid, int real, int n, T* __restrict row) {
  for (int j = 0; j < real; ++j) row[j] = valid[j] * static_cast<T>(offset + map[j]);
  for (int j = real; j < n; ++j) row[j] = T(0);
}

// Σ_c w_c Σ_j m_j p_j (Linear) or Σ_c w_c Σ_j m_j (p_j − g_j)² (SquaredError) over the tile; with
// `gradient`, u_c += w_c · p_c ∂term/∂p_c (m_j p_j, or 2 m_j p_j (p_j − g_j)).
template <typename T>
double classMapTermTile(const TileJob& job, const MapTermRef& term, const double* image, int64_t i0, TileScratch<T>& s,
                        int n, int real, bool gradient) {
  double value = 0.0;
  T* __restrict m = s.tmp;
  const bool squared = term.kind == MapTermKind::SquaredError;
  for (int c = 0; c < job.classes; ++c) {
    const double wc = term.factors[c];
    if (wc == 0.0) continue;
    loadMapRow(image + c * job.pixels + i0, term.offset, s.valid, real, n, m);
    const T* __restrict pc = s.prob + c * S;
    const int32_t* __restrict label = s.label;
    T* __restrict uc = s.u + c * S;
    const T w = gradient ? static_cast<T>(wc) : T(0);
    T lanes[kLanes] = {};
    if (squared) {
      for (int j0 = 0; j0 < n; j0 += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
          const int j = j0 + l;
          const T e = pc[j] - (label[j] == c ? T(1) : T(0));
          lanes[l] += m[j] * e * e;
          uc[j] += w * T(2) * m[j] * pc[j] * e;
        }
      }
    } else {
      for (int j0 = 0; j0 < n; j0 += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
          const int j = j0 + l;
          lanes[l] += m[j] * pc[j];
          uc[j] += w * m[j] * pc[j];
        }
      }
    }
    value += wc * static_cast<double>(laneTotal(lanes));
  }
  return value;
}

// w Σ_j m_j (−log p_t) over the tile; with `gradient`, tau += −w m_j (its u is the true class's
// only: u_t = p_t ∂/∂p_t = −w m_j, so it joins the pixel-wise terms' true-class coefficients and
// needs no class rows). log p_t = z_t − lse under softmax, else the log-probability rows.
template <typename T>
double trueClassMapTermTile(const TileJob& job, const MapTermRef& term, const double* image, int64_t i0, const T* z,
                            TileScratch<T>& s, int n, int real, bool gradient) {
  T* __restrict m = s.tmp;
  T* __restrict lpt = s.lpt;
  loadMapRow(image + i0, term.offset, s.valid, real, n, m);
  for (int j = 0; j < n; ++j) lpt[j] = T(0);
  const bool fromLogits = job.activation == PixelActivationKind::Softmax;
  for (int c = 0; c < job.classes; ++c) {
    selectClass(fromLogits ? z + c * job.pixels : s.logProb + c * S, s.label, c, fromLogits ? real : n, lpt);
  }
  if (fromLogits) {
    const T* __restrict lse = s.lse;
    const T* __restrict valid = s.valid;
    for (int j = 0; j < real; ++j) lpt[j] = valid[j] * (lpt[j] - lse[j]);
  }
  T lanes[kLanes] = {};
  for (int j0 = 0; j0 < n; j0 += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] -= m[j0 + l] * lpt[j0 + l];
  }
  if (gradient) {
    const T w = static_cast<T>(term.factors[0]);
    T* __restrict tau = s.tau;
    for (int j = 0; j < n; ++j) tau[j] -= w * m[j];
  }
  return term.factors[0] * static_cast<double>(laneTotal(lanes));
}

// Whether the job has a map term of that kind (TrueClassLog terms write tau, the others s.u).
inline bool hasMapTerm(const TileJob& job, bool trueClass) {
  for (int k = 0; k < job.mapTermCount; ++k) {
    if ((job.mapTerms[k].kind == MapTermKind::TrueClassLog) == trueClass) return true;
  }
  return false;
}

// Every map term on the tile of image b: the sum of their values; gradients added to s.u (class
// maps) or s.tau (true-class maps).
template <typename T>
double runMapTerms(const TileJob& job, int64_t b, int64_t i0, const T* z, TileScratch<T>& s, int n, int real,
                   bool gradient) {
  double value = 0.0;
  for (int k = 0; k < job.mapTermCount; ++k) {
    const MapTermRef& term = job.mapTerms[k];
    const double* image = term.maps[b];
    value += term.kind == MapTermKind::TrueClassLog ? trueClassMapTermTile(job, term, image, i0, z, s, n, real, gradient)
                                                    : classMapTermTile(job, term, image, i0, s, n, real, gradient);
  }
  return value;
}

// ---- gradient -----------------------------------------------------------------------------------

// u_c = p_c · d value / d p_c of the region terms, from the image's coefficients.
template <typename T>
void regionTileGrad(const double* coefficients /* [K][4] */, const TileScratch<T>& s, int classes, int n) {
  for (int c = 0; c < classes; ++c) {
    const double* k = coefficients + c * kCoefficientCount;
    const T k0 = static_cast<T>(k[0]), k1 = static_cast<T>(k[1]), k2 = static_cast<T>(k[2]), k3 = static_cast<T>(k[3]);
    const T* __restrict pc = s.prob + c * S;
    const int32_t* __restrict label = s.label;
    const T* __restrict valid = s.valid;
    T* __restrict uc = s.u + c * S;
    for (int j = 0; j < n; ++j) {
      const T g = label[j] == c ? T(1) : T(0);
      const T d = valid[j] * (k0 + k1 * g + pc[j] * (k2 + k3 * g));
      uc[j] = pc[j] * d;
    }
  }
}

// Which parts of u = p · d value / d p a tile has.
struct GradParts {
  bool region;  // s.u holds the region (and special) terms' u
  bool pixel;   // tau (and TileJob::pixelSmoothing) hold the pixel-wise (and special true-class) terms'
};

// u_c of class c into dst: region u + [t = c] · tau − σ_c · valid.
template <typename T>
void classU(const TileJob& job, const TileScratch<T>& s, GradParts parts, int c, int n, T* __restrict dst) {
  const int32_t* __restrict label = s.label;
  const T* __restrict tau = s.tau;
  const T* __restrict valid = s.valid;
  const T* __restrict ur = s.u + c * S;
  const T sigma = parts.pixel && job.pixelSmoothing ? static_cast<T>(job.pixelSmoothing[c]) : T(0);
  if (parts.region && parts.pixel) {
    for (int j = 0; j < n; ++j) dst[j] = ur[j] + (label[j] == c ? tau[j] : T(0)) - sigma * valid[j];
  } else if (parts.region) {
    for (int j = 0; j < n; ++j) dst[j] = ur[j];
  } else {
    for (int j = 0; j < n; ++j) dst[j] = (label[j] == c ? tau[j] : T(0)) - sigma * valid[j];
  }
}

template <typename T>
void storeGrad(T* __restrict dst, const T* __restrict v, int n, T scale, bool accumulate) {
  if (accumulate) {
    for (int j = 0; j < n; ++j) dst[j] += scale * v[j];
  } else {
    for (int j = 0; j < n; ++j) dst[j] = scale * v[j];
  }
}

// dst (+)= scale · (u_c − p_c · s.sum) for class c under softmax (s.sum: Σ_c u_c), with u_c composed
// as classU composes it (kRegion: s.u's row; kPixel: [t = c] · tau − σ_c · valid), in one loop.
template <bool kRegion, bool kPixel, bool kAccumulate, typename T>
void softmaxClassGrad(const TileScratch<T>& s, int c, T sigma, int n, T scale, T* __restrict dst) {
  const int32_t* __restrict label = s.label;
  const T* __restrict tau = s.tau;
  const T* __restrict valid = s.valid;
  const T* __restrict ur = s.u + c * S;
  const T* __restrict pc = s.prob + c * S;
  const T* __restrict total = s.sum;
  for (int j = 0; j < n; ++j) {
    T u;
    if constexpr (kRegion && kPixel) {
      u = ur[j] + (label[j] == c ? tau[j] : T(0)) - sigma * valid[j];
    } else if constexpr (kRegion) {
      u = ur[j];
    } else {
      u = (label[j] == c ? tau[j] : T(0)) - sigma * valid[j];
    }
    const T v = u - pc[j] * total[j];
    if constexpr (kAccumulate) {
      dst[j] += scale * v;
    } else {
      dst[j] = scale * v;
    }
  }
}

// Writes scale · d value / d logits of the tile from u = p · d value / d p (classU):
//   softmax:        dz_k = u_k − p_k Σ_c u_c
//   sigmoid:        dz_k = u_k (1 − p_k)
//   none:           dz_k = u_k / p_k
//   binary sigmoid: dz = u_1 p_0 − u_0 p_1
//   binary none:    dz = u_1 / p_1 − u_0 / p_0
template <typename T, PixelActivationKind A>
void writeTileGrad(const TileJob& job, TileScratch<T>& s, GradParts parts, int n, T* out) {
  const int64_t stride = job.pixels;
  const int channels = static_cast<int>(job.channels);
  const T scale = static_cast<T>(job.gradScale);
  constexpr T floor = ProbabilityFloor<T>::value;
  T* __restrict v = s.tmp;
  T* __restrict u = s.ubuf;
  if constexpr (A == PixelActivationKind::Softmax) {
    // Σ_c u_c = Σ_c region u_c + tau − valid · Σ_c σ_c
    T* __restrict total = s.sum;
    const T* __restrict tau = s.tau;
    const T* __restrict valid = s.valid;
    const T sigmaSum = parts.pixel ? static_cast<T>(job.pixelSmoothingSum) : T(0);
    for (int j = 0; j < n; ++j) total[j] = parts.pixel ? tau[j] - sigmaSum * valid[j] : T(0);
    if (parts.region) {
      for (int c = 0; c < channels; ++c) {
        const T* __restrict uc = s.u + c * S;
        for (int j = 0; j < n; ++j) total[j] += uc[j];
      }
    }
    const auto rows = [&]<bool kRegion, bool kPixel>() {
      for (int c = 0; c < channels; ++c) {
        const T sigma = parts.pixel && job.pixelSmoothing ? static_cast<T>(job.pixelSmoothing[c]) : T(0);
        if (job.accumulate) {
          softmaxClassGrad<kRegion, kPixel, true>(s, c, sigma, n, scale, out + c * stride);
        } else {
          softmaxClassGrad<kRegion, kPixel, false>(s, c, sigma, n, scale, out + c * stride);
        }
      }
    };
    if (parts.region && parts.pixel) {
      rows.template operator()<true, true>();
    } else if (parts.region) {
      rows.template operator()<true, false>();
    } else {
      rows.template operator()<false, true>();
    }
  } else if constexpr (A == PixelActivationKind::Sigmoid) {
    for (int c = 0; c < channels; ++c) {
      classU(job, s, parts, c, n, u);
      const T* __restrict pc = s.prob + c * S;
      for (int j = 0; j < n; ++j) v[j] = u[j] * (T(1) - pc[j]);
      if (job.pixelComplements) {
        const T* __restrict dc = s.direct + c * S;
        for (int j = 0; j < n; ++j) v[j] += dc[j];
      }
      storeGrad(out + c * stride, v, n, scale, job.accumulate);
    }
  } else if constexpr (A == PixelActivationKind::None) {
    for (int c = 0; c < channels; ++c) {
      classU(job, s, parts, c, n, u);
      const T* __restrict pc = s.prob + c * S;
      for (int j = 0; j < n; ++j) v[j] = u[j] / (pc[j] > floor ? pc[j] : floor);
      storeGrad(out + c * stride, v, n, scale, job.accumulate);
    }
  } else {
    T* __restrict u1 = s.ubuf1;
    classU(job, s, parts, 0, n, u);
    classU(job, s, parts, 1, n, u1);
    const T* __restrict p0 = s.prob;
    const T* __restrict p1 = s.prob + S;
    if constexpr (A == PixelActivationKind::BinarySigmoid) {
      for (int j = 0; j < n; ++j) v[j] = u1[j] * p0[j] - u[j] * p1[j];
    } else {
      for (int j = 0; j < n; ++j) v[j] = u1[j] / (p1[j] > floor ? p1[j] : floor) - u[j] / (p0[j] > floor ? p0[j] : floor);
    }
    storeGrad(out, v, n, scale, job.accumulate);
  }
}

// ---- special terms ------------------------------------------------------------------------------

// Stores the tile's K rows of n values (scratch stride S) at dst + c · pixels (one image's [K, N]).
template <typename T>
void storeRows(const T* src, int classes, int n, int64_t pixels, T* dst) {
  for (int c = 0; c < classes; ++c) {
    const T* __restrict from = src + c * S;
    T* __restrict to = dst + c * pixels;
    for (int j = 0; j < n; ++j) to[j] = from[j];
  }
}

// The tile's activation and labels into the job's batch buffers (special_batch.h). Under softmax
// without log-probability rows, log p_t = z_t − lse (the same numbers as the rows would hold).
template <typename T>
void storeActivation(const TileJob& job, int64_t b, int64_t i0, const T* z, int n, const TileScratch<T>& s) {
  const int classes = job.classes;
  const int64_t offset = b * classes * job.pixels + i0;
  if (job.probOut) storeRows(s.prob, classes, n, job.pixels, static_cast<T*>(job.probOut) + offset);
  if (job.logProbOut) storeRows(s.logProb, classes, n, job.pixels, static_cast<T*>(job.logProbOut) + offset);
  if (job.trueLogProbOut) {
    T* __restrict to = static_cast<T*>(job.trueLogProbOut) + b * job.pixels + i0;
    for (int j = 0; j < n; ++j) to[j] = T(0);
    if (job.activation == PixelActivationKind::Softmax && !job.needLogProb) {
      for (int c = 0; c < classes; ++c) selectClass(z + c * job.pixels, s.label, c, n, to);
      const T* __restrict lse = s.lse;
      const T* __restrict valid = s.valid;
      for (int j = 0; j < n; ++j) to[j] = valid[j] * (to[j] - lse[j]);
    } else {
      for (int c = 0; c < classes; ++c) selectClass(s.logProb + c * S, s.label, c, n, to);
    }
  }
  if (job.labelOut) {
    int32_t* __restrict to = job.labelOut + b * job.pixels + i0;
    const int32_t* __restrict from = s.label;
    for (int j = 0; j < n; ++j) to[j] = from[j];
  }
}

// u_c += p_c · the special terms' stored d value / d p_c (= when no region term wrote s.u).
template <typename T>
void addSpecialDprob(const TileJob& job, int64_t b, int64_t i0, int n, TileScratch<T>& s, bool overwrite) {
  const T* base = static_cast<const T*>(job.specialDprob) + b * job.classes * job.pixels + i0;
  for (int c = 0; c < job.classes; ++c) {
    const T* __restrict from = base + c * job.pixels;
    const T* __restrict pc = s.prob + c * S;
    T* __restrict uc = s.u + c * S;
    if (overwrite) {
      for (int j = 0; j < n; ++j) uc[j] = pc[j] * from[j];
    } else {
      for (int j = 0; j < n; ++j) uc[j] += pc[j] * from[j];
    }
  }
}

// u_c += the special terms' stored u_c (= when nothing wrote s.u before).
template <typename T>
void addSpecialU(const TileJob& job, int64_t b, int64_t i0, int n, TileScratch<T>& s, bool overwrite) {
  const T* base = static_cast<const T*>(job.specialU) + b * job.classes * job.pixels + i0;
  for (int c = 0; c < job.classes; ++c) {
    const T* __restrict from = base + c * job.pixels;
    T* __restrict uc = s.u + c * S;
    if (overwrite) {
      for (int j = 0; j < n; ++j) uc[j] = from[j];
    } else {
      for (int j = 0; j < n; ++j) uc[j] += from[j];
    }
  }
}

// tau += the special terms' stored u of the true class (tau: the true-class coefficients, tile rows).
template <typename T>
void addSpecialTrueU(const TileJob& job, int64_t b, int64_t i0, int n, TileScratch<T>& s) {
  const T* __restrict from = static_cast<const T*>(job.specialTrueU) + b * job.pixels + i0;
  T* __restrict tau = s.tau;
  for (int j = 0; j < n; ++j) tau[j] += from[j];
}

// One special term's tile part (special_batch.h: tileTerm) on the tile: its value sum (when
// `values`) and, when `gradient`, its u added to s.u with the term's gradScale. Uses the rows the
// pixel-wise terms fill later (pt, lpt, wt, at) as scratch.
template <typename T>
double runSpecialTileTerm(const TileJob& job, const SpecialTileRef& term, TileScratch<T>& s, int n, bool values,
                          bool gradient) {
  SpecialTileRows<T> rows;
  rows.prob = s.prob;
  rows.logProb = s.logProb;
  rows.label = s.label;
  rows.scratch[0] = s.pt;
  rows.scratch[1] = s.lpt;
  rows.scratch[2] = s.wt;
  rows.scratch[3] = s.at;
  rows.stride = S;
  double value = 0.0;
  int index = 0;
  Losses::forEach([&]<class Loss>() {
    if constexpr (isSpecialLoss<Loss>() && specialHasTilePart<Loss>()) {
      if (term.lossIndex == index) {
        value = static_cast<const Loss*>(term.functor)
                    ->template tileTerm<TileMath>(rows, job.classes, n, job.normalized, values, gradient ? s.u : nullptr,
                                                  static_cast<T>(term.gradScale));
      }
    }
    ++index;
  });
  return value;
}

// ---- one unit -----------------------------------------------------------------------------------

// topk's one-pass tile part (TileJob::topkFused, softmax): v = −log p_t exactly as the
// Statistics pass stores it (storeActivation: valid · (z_t − lse)), 0 for ignored pixels;
// tau += topkU where v > topkWrite (the gradient of a selected pixel); the pixels
// above topkLow appended to the worker's candidates and counted in its histogram.
template <typename T>
void topkTile(const TileJob& job, int64_t b, int64_t i0, const T* z, int n, TileScratch<T>& s, TilePartials& partials) {
  T* __restrict lpt = s.lpt;
  for (int j = 0; j < n; ++j) lpt[j] = T(0);
  for (int c = 0; c < job.classes; ++c) selectClass(z + c * job.pixels, s.label, c, n, lpt);
  for (int j = 0; j < n; ++j) lpt[j] = s.valid[j] * (lpt[j] - s.lse[j]);
  const T low = static_cast<T>(job.topkLow);  // τ_low ≥ 0, rounded to T: the pass compares in T
  const T write = static_cast<T>(job.topkWrite);
  const T u = static_cast<T>(job.topkU);
  T* __restrict v = s.tmp;  // the values, then (writeTileGrad) its scratch
  T* __restrict tau = s.tau;
  const int32_t* __restrict label = s.label;
  for (int j = 0; j < n; ++j) {
    v[j] = label[j] >= 0 ? -lpt[j] : T(0);
    tau[j] += v[j] > write ? u : T(0);
  }
  TopkCandidates& out = *partials.topk;
  if (out.count + n > out.capacity) {  // no room for a whole tile: stop recording (the caller falls back)
    for (int j = 0; j < n; ++j) out.overflow = out.overflow || v[j] > low;
    return;
  }
  const int64_t first = b * job.pixels + i0;
  int64_t count = out.count;
  int j = 0;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    // 8 pixels at a time: the ones above τ_low compressed to the front of a vector, stored whole
    // (the tile's n slots are free, so a store of 8 never passes the capacity)
    const __m256 lows = _mm256_set1_ps(low);
    const __m512i lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    for (; j + 8 <= n; j += 8) {
      const __m256 values = _mm256_loadu_ps(v + j);
      const __mmask8 keep = static_cast<__mmask8>(_mm256_movemask_ps(_mm256_cmp_ps(values, lows, _CMP_GT_OQ)));
      const __m512d wide = _mm512_maskz_compress_pd(keep, _mm512_maskz_cvtps_pd(0xFF, values));
      const __m512i where = _mm512_maskz_compress_epi64(keep, _mm512_add_epi64(_mm512_set1_epi64(first + j), lanes));
      _mm512_storeu_pd(out.values + count, wide);
      _mm512_storeu_si512(out.pixels + count, where);
      count += __builtin_popcount(keep);
    }
  }
#endif
  for (; j < n; ++j) {  // branch-free append (written always, kept when above τ_low)
    out.values[count] = static_cast<double>(v[j]);
    out.pixels[count] = first + j;
    count += v[j] > low;
  }
  for (int64_t k = out.count; k < count; ++k) ++out.histogram[topkBucket(out.values[k], out.lowKey)];
  out.count = count;
}

template <typename T, PixelActivationKind A>
void runUnit(const TileJob& job, int64_t unit, TileScratch<T>& s, TilePartials& partials) {
  const int64_t tiles = job.tiles();
  const int64_t b = unit / tiles;
  const int64_t i0 = (unit % tiles) * S;
  const int n = static_cast<int>(job.pixels - i0 < S ? job.pixels - i0 : S);
  const int classes = job.classes;
  const T* z = static_cast<const T*>(job.logits) + b * job.channels * job.pixels + i0;
  partials.validPixels += loadLabels(job, b, i0, n, s.label, s.valid);
  activateTile<T, A>(job, z, n, s);
  if (job.checkInputs) {
    partials.invalidLabel |= anyInvalidLabel(s.label, n, classes);
    partials.nonFinite |= logitsNonFinite<T, A>(z, job, n, s);
  }
  const int padded = paddedCount(n);  // the sums and scratch loops run over the padded tile
  if (padded != n) padTile(s, classes, n);

  const bool values = job.pass != PassKind::Gradient;
  const bool gradient = job.pass != PassKind::Statistics;
  if (job.pass == PassKind::Statistics) {
    accumulateTileMoments(job.moments, s, classes, padded, partials.moments + b * classes * kMomentCount);
    storeActivation(job, b, i0, z, n, s);
    if (job.confusion) tileConfusion(s, classes, padded, partials.confusion + b * confusionSize(classes));
    for (int k = 0; k < job.specialTileCount; ++k) {
      partials.specialTileValues[k] += runSpecialTileTerm(job, job.specialTiles[k], s, padded, true, false);
    }
  }
  const bool classMaps = hasMapTerm(job, false), trueClassMaps = hasMapTerm(job, true);
  const GradParts parts{job.coefficients != nullptr || job.specialDprob != nullptr || job.specialU != nullptr ||
                            classMaps || job.specialTileCount > 0,
                        job.pixelTermCount > 0 || job.specialTrueU != nullptr || job.topkFused || trueClassMaps};
  if (gradient && job.coefficients) {
    regionTileGrad(job.coefficients + b * classes * kCoefficientCount, s, classes, n);
  } else if (gradient && (classMaps || job.specialTileCount > 0)) {  // these terms add to u
    for (int j = 0; j < classes * S; ++j) s.u[j] = T(0);
  }
  const bool uWritten = job.coefficients != nullptr || classMaps || job.specialTileCount > 0;
  if (gradient && job.confusionRows) confusionTileGrad(job.confusionRows + b * confusionSize(classes), s, classes, n);
  if (gradient && job.specialDprob) addSpecialDprob(job, b, i0, n, s, !uWritten);
  if (gradient && job.specialU) addSpecialU(job, b, i0, n, s, !uWritten && job.specialDprob == nullptr);
  if (gradient) {
    for (int k = 0; k < job.specialTileCount; ++k) runSpecialTileTerm(job, job.specialTiles[k], s, padded, false, true);
  }
  if (parts.pixel) {
    for (int j = 0; j < padded; ++j) s.tau[j] = T(0);
  }
  if (job.mapTermCount > 0 && (values || gradient)) {
    const double v = runMapTerms(job, b, i0, z, s, padded, n, gradient);
    if (values) *partials.mapValue += v;
  }
  if (job.pixelComplements) {
    for (int j = 0; j < classes * S; ++j) s.direct[j] = T(0);
  }
  if (gradient && job.specialTrueU) addSpecialTrueU(job, b, i0, n, s);
  if (job.topkFused) topkTile(job, b, i0, z, n, s, partials);
  for (int k = 0; k < job.pixelTermCount; ++k) {
    const double v = runPixelTerm(job, job.pixelTerms[k], z, s, padded, n, values, gradient);
    if (values) partials.pixelValues[k] += v;
  }
  if (gradient) writeTileGrad<T, A>(job, s, parts, n, static_cast<T*>(job.grad) + b * job.channels * job.pixels + i0);
}

template <typename T, PixelActivationKind A>
void runUnits(const TileJob& job, int64_t begin, int64_t end, void* workspace, TilePartials& partials) {
  TileScratch<T> s = TileScratch<T>::carve(workspace, job.classes);
  for (int64_t u = begin; u < end; ++u) runUnit<T, A>(job, u, s, partials);
}

template <typename T>
void runUnitsOf(const TileJob& job, int64_t begin, int64_t end, void* workspace, TilePartials& partials) {
  switch (job.activation) {
    case PixelActivationKind::Sigmoid: return runUnits<T, PixelActivationKind::Sigmoid>(job, begin, end, workspace, partials);
    case PixelActivationKind::None: return runUnits<T, PixelActivationKind::None>(job, begin, end, workspace, partials);
    case PixelActivationKind::BinarySigmoid:
      return runUnits<T, PixelActivationKind::BinarySigmoid>(job, begin, end, workspace, partials);
    case PixelActivationKind::BinaryNone:
      return runUnits<T, PixelActivationKind::BinaryNone>(job, begin, end, workspace, partials);
    default: return runUnits<T, PixelActivationKind::Softmax>(job, begin, end, workspace, partials);
  }
}

void runTiles(const TileJob& job, int64_t begin, int64_t end, void* workspace, TilePartials& partials) {
  if (job.dtype == ScalarType::Float64) runUnitsOf<double>(job, begin, end, workspace, partials);
  else runUnitsOf<float>(job, begin, end, workspace, partials);
}

// p and log p of images [b0, b1) into prob and logProb [B, K, N], tile by tile (activateTile with
// log-probability rows; softmax's log p = z − lse).
template <typename T, PixelActivationKind A>
void activateImagesAs(const TileJob& job, int64_t b0, int64_t b1, void* workspace, T* prob, T* logProb) {
  TileJob rows = job;
  rows.needLogProb = true;
  rows.mapLogProb = true;  // softmax: the log-sum-exp row, for log p
  TileScratch<T> s = TileScratch<T>::carve(workspace, job.classes);
  const T* logits = static_cast<const T*>(job.logits);
  for (int64_t b = b0; b < b1; ++b) {
    for (int64_t i0 = 0; i0 < job.pixels; i0 += kTilePixels) {
      const int n = static_cast<int>(std::min<int64_t>(kTilePixels, job.pixels - i0));
      activateTile<T, A>(rows, logits + b * job.channels * job.pixels + i0, n, s);
      for (int c = 0; c < job.classes; ++c) {
        const int64_t at = (b * job.classes + c) * job.pixels + i0;
        std::copy(s.prob + c * S, s.prob + c * S + n, prob + at);
        std::copy(s.logProb + c * S, s.logProb + c * S + n, logProb + at);
      }
    }
  }
}

template <typename T>
void activateImagesOf(const TileJob& job, int64_t b0, int64_t b1, void* workspace, T* prob, T* logProb) {
  switch (job.activation) {
    case PixelActivationKind::Sigmoid: return activateImagesAs<T, PixelActivationKind::Sigmoid>(job, b0, b1, workspace, prob, logProb);
    case PixelActivationKind::None: return activateImagesAs<T, PixelActivationKind::None>(job, b0, b1, workspace, prob, logProb);
    case PixelActivationKind::BinarySigmoid:
      return activateImagesAs<T, PixelActivationKind::BinarySigmoid>(job, b0, b1, workspace, prob, logProb);
    case PixelActivationKind::BinaryNone:
      return activateImagesAs<T, PixelActivationKind::BinaryNone>(job, b0, b1, workspace, prob, logProb);
    default: return activateImagesAs<T, PixelActivationKind::Softmax>(job, b0, b1, workspace, prob, logProb);
  }
}

void activateImages(const TileJob& job, int64_t begin, int64_t end, void* workspace, void* prob, void* logProb) {
  if (job.dtype == ScalarType::Float64) {
    activateImagesOf(job, begin, end, workspace, static_cast<double*>(prob), static_cast<double*>(logProb));
  } else {
    activateImagesOf(job, begin, end, workspace, static_cast<float*>(prob), static_cast<float*>(logProb));
  }
}

// (−log p)^γ of n log-probabilities (0 where −log p ≤ 0), as e^{γ ln(−log p)} with the kernels'
// exp and log (float: vectorised polynomials; double: the C library).
template <typename T>
void negatedLogPowersOf(const T* __restrict logp, int64_t n, T gamma, T* __restrict out) {
  for (int64_t j = 0; j < n; ++j) {
    const T x = -logp[j];
    const T v = tileExp(gamma * tileLog(x > T(0) ? x : T(1)));
    out[j] = x > T(0) ? v : T(0);
  }
}

// σ(z) and log(1 + e^{−|z|}) (softplus(z) − max(z, 0)) of n logits, both from one e^{−|z|}.
template <typename T>
void sigmoidSoftplusOf(const T* __restrict z, int64_t n, T* __restrict sigmoid, T* __restrict softplus) {
  for (int64_t j = 0; j < n; ++j) {
    const T x = z[j];
    const T e = tileExp(-(x < T(0) ? -x : x));
    sigmoid[j] = x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    softplus[j] = tileLog1p(e);
  }
}

void sigmoidSoftplus(const float* z, int64_t n, float* sigmoid, float* softplus) { sigmoidSoftplusOf(z, n, sigmoid, softplus); }
void sigmoidSoftplus(const double* z, int64_t n, double* sigmoid, double* softplus) { sigmoidSoftplusOf(z, n, sigmoid, softplus); }

// The gradient at `count` pixels (flat b·N + i) of a softmax job whose only u is the true class's,
// u there: dz_c = scale · ([c = t] u − p_c u), the arithmetic of writeTileGrad for that u (topk's
// one pass: its ties and the pixels it did not write as selected). Up to S pixels at a time are
// gathered into a tile ([C][S] logits in the scratch's u rows), activated together, and the
// gradient scattered back.
template <typename T>
void rewriteTrueUGradOf(const TileJob& job, const int64_t* pixels, int64_t count, T u, void* workspace) {
  TileScratch<T> s = TileScratch<T>::carve(workspace, job.classes);
  const int64_t stride = job.pixels;
  const int channels = static_cast<int>(job.channels);
  const T scale = static_cast<T>(job.gradScale);
  T* __restrict gathered = s.u;
  for (int64_t k0 = 0; k0 < count; k0 += S) {
    const int m = static_cast<int>(count - k0 < S ? count - k0 : S);
    for (int j = 0; j < m; ++j) {
      const int64_t b = pixels[k0 + j] / job.pixels, i = pixels[k0 + j] % job.pixels;
      loadLabelRun(job, pixels[k0 + j], 1, s.label + j, s.valid + j);
      const T* z = static_cast<const T*>(job.logits) + b * job.channels * job.pixels + i;
      for (int c = 0; c < channels; ++c) gathered[c * S + j] = z[c * stride];
    }
    padLabels(m, s.label, s.valid);
    softmaxTile(gathered, S, channels, m, s.prob, s.logProb, false, false, s.lse, s.sum);
    for (int j = 0; j < m; ++j) {
      const int64_t b = pixels[k0 + j] / job.pixels, i = pixels[k0 + j] % job.pixels;
      T* out = static_cast<T*>(job.grad) + b * job.channels * job.pixels + i;
      const T total = u - T(0) * s.valid[j];
      for (int c = 0; c < channels; ++c) {
        const T uc = (s.label[j] == c ? u : T(0)) - T(0) * s.valid[j];
        out[c * stride] = scale * (uc - s.prob[c * S + j] * total);
      }
    }
  }
}

void rewriteTrueUGrad(const TileJob& job, const int64_t* pixels, int64_t count, double u, void* workspace) {
  if (job.dtype == ScalarType::Float64) rewriteTrueUGradOf<double>(job, pixels, count, u, workspace);
  else rewriteTrueUGradOf<float>(job, pixels, count, static_cast<float>(u), workspace);
}

// out[j] = −log p_t (softmax, in T, as the tile passes compute it) of pixel i0 + j of image b, for
// count ≤ S pixels; 0 where the label is not a class (ignored or out of range).
template <typename T>
void trueClassLossesOf(const TileJob& job, int64_t b, int64_t i0, int count, double* out, void* workspace) {
  TileScratch<T> s = TileScratch<T>::carve(workspace, job.classes);
  const T* z = static_cast<const T*>(job.logits) + b * job.channels * job.pixels + i0;
  loadLabels(job, b, i0, count, s.label, s.valid);
  softmaxTile(z, job.pixels, static_cast<int>(job.channels), count, s.prob, s.logProb, true, false, s.lse, s.sum);
  T* __restrict zt = s.lpt;
  for (int j = 0; j < count; ++j) zt[j] = T(0);
  for (int c = 0; c < job.classes; ++c) selectClass(z + c * job.pixels, s.label, c, count, zt);
  for (int j = 0; j < count; ++j) out[j] = static_cast<double>(s.valid[j] * (s.lse[j] - zt[j]));
}

void trueClassLosses(const TileJob& job, int64_t b, int64_t i0, int count, double* out, void* workspace) {
  if (job.dtype == ScalarType::Float64) trueClassLossesOf<double>(job, b, i0, count, out, workspace);
  else trueClassLossesOf<float>(job, b, i0, count, out, workspace);
}

bool hasNonFinite(const float* z, int n) { return anyNonFinite(z, n, 1, n); }
bool hasNonFinite(const double* z, int n) { return anyNonFinite(z, n, 1, n); }

void negatedLogPowers(const float* logp, int64_t n, float gamma, float* out) { negatedLogPowersOf(logp, n, gamma, out); }
void negatedLogPowers(const double* logp, int64_t n, double gamma, double* out) { negatedLogPowersOf(logp, n, gamma, out); }

}  // namespace segloss::SEGLOSS_ISA_NAMESPACE
