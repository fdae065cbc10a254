// The CPU engine's activations, a tile of pixels at a time: probabilities and log-probabilities
// of up to kTilePixels consecutive pixels of one image, laid out [K][kTilePixels] so that every
// loop over pixels vectorises. Same mathematics as the per-pixel PixelActivation (activation.h)
// that the CUDA engines use; the loss functors see either through prob(c) / logProb(c).
#pragma once

#include <cstdint>

#include "activation.h"
#include "vector_math.h"

namespace segloss {

inline constexpr int kTilePixels = 64;

// One pixel of a tile, as the loss functors see it.
template <typename T>
struct TilePixel {
  const T* probs;     // [K] with stride kTilePixels
  const T* logProbs;  // [K] with stride kTilePixels
  T prob(int c) const { return probs[c * kTilePixels]; }
  T logProb(int c) const { return logProbs[c * kTilePixels]; }
};

// The softmax's three vectorised steps over one channel of a tile.
template <typename T>
void maxInto(T* __restrict maxz, const T* __restrict zc, int n) {
  for (int j = 0; j < n; ++j) maxz[j] = zc[j] > maxz[j] ? zc[j] : maxz[j];
}
template <typename T>
void shiftedExpInto(T* __restrict pc, const T* __restrict zc, const T* __restrict maxz, T* __restrict sum, int n) {
  for (int j = 0; j < n; ++j) {
    pc[j] = tileExp(zc[j] - maxz[j]);
    sum[j] += pc[j];
  }
}
template <typename T>
void normaliseInto(T* __restrict pc, T* __restrict lc, const T* __restrict zc, const T* __restrict lse,
                   const T* __restrict inverseSum, int n) {
  for (int j = 0; j < n; ++j) {
    pc[j] *= inverseSum[j];
    lc[j] = zc[j] - lse[j];
  }
}

// Probabilities of n ≤ kTilePixels pixels whose logits start at z (channel stride `stride`).
template <typename T, PixelActivationKind A>
void activateTile(const T* z, int64_t stride, int channels, int n, T* prob /* [K][tile] */, T* logProb) {
  if constexpr (A == PixelActivationKind::Softmax) {
    T maxz[kTilePixels], sum[kTilePixels];
    for (int j = 0; j < n; ++j) maxz[j] = z[j];
    for (int c = 1; c < channels; ++c) maxInto(maxz, z + c * stride, n);
    for (int j = 0; j < n; ++j) sum[j] = T(0);
    for (int c = 0; c < channels; ++c) shiftedExpInto(prob + c * kTilePixels, z + c * stride, maxz, sum, n);
    for (int j = 0; j < n; ++j) {
      maxz[j] += tileLog(sum[j]);  // log-sum-exp
      sum[j] = T(1) / sum[j];
    }
    for (int c = 0; c < channels; ++c) {
      normaliseInto(prob + c * kTilePixels, logProb + c * kTilePixels, z + c * stride, maxz, sum, n);
    }
  } else if constexpr (A == PixelActivationKind::Sigmoid || A == PixelActivationKind::BinarySigmoid) {
    // Sigmoid: class c from channel c. BinarySigmoid: class 1 = σ(z), class 0 = σ(−z).
    const int classes = A == PixelActivationKind::Sigmoid ? channels : 2;
    for (int c = 0; c < classes; ++c) {
      const T* zc = A == PixelActivationKind::Sigmoid ? z + c * stride : z;
      const T sign = (A == PixelActivationKind::BinarySigmoid && c == 0) ? T(-1) : T(1);
      T* pc = prob + c * kTilePixels;
      T* lc = logProb + c * kTilePixels;
      for (int j = 0; j < n; ++j) {
        const T x = sign * zc[j];
        const T e = tileExp(-(x < T(0) ? -x : x));  // e^{−|x|} ∈ (0, 1]
        const T l = tileLog1p(e);
        pc[j] = x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
        lc[j] = -(x < T(0) ? -x : T(0)) - l;  // log σ(x) = −softplus(−x)
      }
    }
  } else {
    // None: the caller passes probabilities; BinaryNone: class 1 = z, class 0 = 1 − z.
    const int classes = A == PixelActivationKind::None ? channels : 2;
    for (int c = 0; c < classes; ++c) {
      const T* zc = A == PixelActivationKind::None ? z + c * stride : z;
      const bool complement = A == PixelActivationKind::BinaryNone && c == 0;
      T* pc = prob + c * kTilePixels;
      T* lc = logProb + c * kTilePixels;
      for (int j = 0; j < n; ++j) {
        pc[j] = complement ? T(1) - zc[j] : zc[j];
        const T floored = pc[j] > ProbabilityFloor<T>::value ? pc[j] : ProbabilityFloor<T>::value;
        lc[j] = tileLog(floored);
      }
    }
  }
}

// Writes scale · d value / d logits for n pixels, from the tile's gradient by probability
// D = d value / d p and probability-scaled gradient H = p · d value / d p (both [K][tile];
// region losses give D, pixel-wise losses give H, which stays finite where p underflows):
//   softmax:        u = p·D + H,  dz_k = u_k − p_k Σ_c u_c
//   sigmoid:        dz_k = (p_k D_k + H_k)(1 − p_k)
//   none:           dz_k = D_k + H_k / p_k
//   binary sigmoid: dz = u_1 p_0 − u_0 p_1
//   binary none:    dz = (D_1 + H_1 / p_1) − (D_0 + H_0 / p_0)
template <typename T, PixelActivationKind A>
void writeTileGrad(const T* prob, const T* D, const T* H, int channels, int n, T* out, int64_t stride, T scale,
                   bool accumulate) {
  const auto store = [&](T* dst, int j, T v) { dst[j] = accumulate ? dst[j] + scale * v : scale * v; };
  constexpr T floor = ProbabilityFloor<T>::value;
  if constexpr (A == PixelActivationKind::Softmax) {
    T total[kTilePixels];
    for (int j = 0; j < n; ++j) total[j] = T(0);
    for (int c = 0; c < channels; ++c) {
      const int o = c * kTilePixels;
      for (int j = 0; j < n; ++j) total[j] += prob[o + j] * D[o + j] + H[o + j];
    }
    for (int c = 0; c < channels; ++c) {
      const int o = c * kTilePixels;
      T* dst = out + c * stride;
      for (int j = 0; j < n; ++j) store(dst, j, prob[o + j] * D[o + j] + H[o + j] - prob[o + j] * total[j]);
    }
  } else if constexpr (A == PixelActivationKind::Sigmoid) {
    for (int c = 0; c < channels; ++c) {
      const int o = c * kTilePixels;
      T* dst = out + c * stride;
      for (int j = 0; j < n; ++j) store(dst, j, (prob[o + j] * D[o + j] + H[o + j]) * (T(1) - prob[o + j]));
    }
  } else if constexpr (A == PixelActivationKind::None) {
    for (int c = 0; c < channels; ++c) {
      const int o = c * kTilePixels;
      T* dst = out + c * stride;
      for (int j = 0; j < n; ++j) store(dst, j, D[o + j] + H[o + j] / (prob[o + j] > floor ? prob[o + j] : floor));
    }
  } else if constexpr (A == PixelActivationKind::BinarySigmoid) {
    const int k = kTilePixels;
    for (int j = 0; j < n; ++j) {
      const T u0 = prob[j] * D[j] + H[j];
      const T u1 = prob[k + j] * D[k + j] + H[k + j];
      store(out, j, u1 * prob[j] - u0 * prob[k + j]);
    }
  } else {
    const int k = kTilePixels;
    for (int j = 0; j < n; ++j) {
      const T g1 = D[k + j] + H[k + j] / (prob[k + j] > floor ? prob[k + j] : floor);
      const T g0 = D[j] + H[j] / (prob[j] > floor ? prob[j] : floor);
      store(out, j, g1 - g0);
    }
  }
}

}  // namespace segloss
