// The per-(image, class) statistics every region loss is written on: sums over valid pixels of
// monomials in the class probability p and the one-hot target g (v = 1 for valid pixels):
//   P = Σ v p,  PG = Σ p g (= I),  G = Σ g,  P2 = Σ v p²,  P2G = Σ p² g.
// A loss's head turns them into its value and d value / d moment; the engines then write, per pixel,
//   d value / d p = dP + dPG·g + 2p·(dP2 + dP2G·g),
// so no loss code runs inside the pixel loops. Stored [B, K, kMomentCount] in float64.
#pragma once

#include <cstdint>

#include "host_device.h"

namespace segloss {

enum Moment : int { kMomentP = 0, kMomentPG = 1, kMomentG = 2, kMomentP2 = 3, kMomentP2G = 4 };
inline constexpr int kMomentCount = 5;

// A set of moments as a bit mask (bit m = Moment m).
using MomentMask = unsigned;
SEGLOSS_HD SEGLOSS_INLINE constexpr MomentMask momentBit(Moment m) { return 1u << m; }

// Adds one pixel's contribution to the moments s[kMomentCount] (p, g already masked by validity
// through `valid` ∈ {0, 1}).
template <typename T>
SEGLOSS_HD SEGLOSS_INLINE void accumulateMoments(T p, T g, T valid, double* s) {
  const T vp = valid * p;
  s[kMomentP] += static_cast<double>(vp);
  s[kMomentPG] += static_cast<double>(p * g);
  s[kMomentG] += static_cast<double>(g);
  s[kMomentP2] += static_cast<double>(vp * p);
  s[kMomentP2G] += static_cast<double>(p * p * g);
}

// d value / d p at a pixel from d value / d moments ds[kMomentCount].
template <typename T>
SEGLOSS_HD SEGLOSS_INLINE T momentProbGrad(T p, T g, const double* ds) {
  return static_cast<T>(ds[kMomentP]) + static_cast<T>(ds[kMomentPG]) * g +
         T(2) * p * (static_cast<T>(ds[kMomentP2]) + static_cast<T>(ds[kMomentP2G]) * g);
}

// The interface the CUDA region engine (and any per-pixel engine) uses, derived once for every
// region loss from its head: kStats, accumulate, probGrad. Loss provides `head`.
template <class Loss>
struct RegionMomentsLoss {
  static constexpr int kStats = kMomentCount;
  template <typename T>
  SEGLOSS_HD SEGLOSS_INLINE void accumulate(T p, T g, double* s) const { accumulateMoments(p, g, T(1), s); }
  template <typename T>
  SEGLOSS_HD SEGLOSS_INLINE T probGrad(T p, T g, const double* ds) const { return momentProbGrad(p, g, ds); }
};

}  // namespace segloss
