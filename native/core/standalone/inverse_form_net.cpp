// The inverse-transformation network's forward and backward passes (inverse_form_net.h).
#include "inverse_form_net.h"

#include <algorithm>

namespace segloss {
namespace {

using Net = InverseFormNet;

// Offsets of each parameter block in the flat array.
constexpr size_t kOffW1 = 0, kOffB1 = kOffW1 + Net::kW1, kOffW2 = kOffB1 + Net::kC1, kOffB2 = kOffW2 + Net::kW2,
                 kOffW3 = kOffB2 + Net::kC2, kOffB3 = kOffW3 + Net::kW3, kOffW4 = kOffB3 + Net::kHidden,
                 kOffB4 = kOffW4 + Net::kW4;
static_assert(kOffB4 + Net::kOutputs == Net::kParameterCount);

// out [co, so, so] = b + conv(in [ci, si, si], w [co, ci, 5, 5]), stride 2, pad 2; then ReLU.
template <typename T>
void convForward(const T* in, int ci, int si, const T* w, const T* b, int co, T* out) {
  const int so = si / 2;
  for (int o = 0; o < co; ++o) {
    T* plane = out + size_t(o) * so * so;
    std::fill(plane, plane + so * so, b[o]);
    for (int i = 0; i < ci; ++i) {
      const T* src = in + size_t(i) * si * si;
      const T* k = w + (size_t(o) * ci + i) * 25;
      for (int oy = 0; oy < so; ++oy) {
        for (int ky = 0; ky < 5; ++ky) {
          const int y = 2 * oy + ky - 2;
          if (y < 0 || y >= si) continue;
          const T* row = src + size_t(y) * si;
          for (int ox = 0; ox < so; ++ox) {
            T s = 0;
            for (int kx = 0; kx < 5; ++kx) {
              const int x = 2 * ox + kx - 2;
              if (x >= 0 && x < si) s += k[ky * 5 + kx] * row[x];
            }
            plane[oy * so + ox] += s;
          }
        }
      }
    }
    for (int j = 0; j < so * so; ++j) plane[j] = std::max(plane[j], T(0));
  }
}

// Given dOut [co, so, so] (already through the ReLU): din [ci, si, si] (added; may be null), dw, db (added).
template <typename T>
void convBackward(const T* in, int ci, int si, const T* w, int co, const T* dOut, T* din, T* dw, T* db) {
  const int so = si / 2;
  for (int o = 0; o < co; ++o) {
    const T* g = dOut + size_t(o) * so * so;
    if (db) for (int j = 0; j < so * so; ++j) db[o] += g[j];
    for (int i = 0; i < ci; ++i) {
      const T* src = in + size_t(i) * si * si;
      const T* k = w + (size_t(o) * ci + i) * 25;
      T* dk = dw ? dw + (size_t(o) * ci + i) * 25 : nullptr;
      T* dsrc = din ? din + size_t(i) * si * si : nullptr;
      for (int oy = 0; oy < so; ++oy) {
        for (int ky = 0; ky < 5; ++ky) {
          const int y = 2 * oy + ky - 2;
          if (y < 0 || y >= si) continue;
          for (int ox = 0; ox < so; ++ox) {
            const T go = g[oy * so + ox];
            if (go == T(0)) continue;
            for (int kx = 0; kx < 5; ++kx) {
              const int x = 2 * ox + kx - 2;
              if (x < 0 || x >= si) continue;
              if (dk) dk[ky * 5 + kx] += go * src[size_t(y) * si + x];
              if (dsrc) dsrc[size_t(y) * si + x] += go * k[ky * 5 + kx];
            }
          }
        }
      }
    }
  }
}

}  // namespace

template <typename T>
void InverseFormNet::forward(const T* p, const T* x, int64_t n, T* y, Activations<T>* keep) {
  Activations<T> local;
  Activations<T>& a = keep ? *keep : local;
  a.h1.assign(size_t(n) * kC1 * kS1 * kS1, T(0));
  a.h2.assign(size_t(n) * kC2 * kS2 * kS2, T(0));
  a.h3.assign(size_t(n) * kHidden, T(0));
  for (int64_t s = 0; s < n; ++s) {
    const T* in = x + size_t(s) * kInputs * kTile * kTile;
    T* h1 = a.h1.data() + size_t(s) * kC1 * kS1 * kS1;
    T* h2 = a.h2.data() + size_t(s) * kC2 * kS2 * kS2;
    T* h3 = a.h3.data() + size_t(s) * kHidden;
    convForward(in, kInputs, kTile, p + kOffW1, p + kOffB1, kC1, h1);
    convForward(h1, kC1, kS1, p + kOffW2, p + kOffB2, kC2, h2);
    for (int j = 0; j < kHidden; ++j) {
      const T* w = p + kOffW3 + size_t(j) * kFlat;
      T v = p[kOffB3 + j];
      for (size_t f = 0; f < kFlat; ++f) v += w[f] * h2[f];
      h3[j] = std::max(v, T(0));
    }
    T* out = y + size_t(s) * kOutputs;
    for (int k = 0; k < kOutputs; ++k) {
      const T* w = p + kOffW4 + size_t(k) * kHidden;
      T v = p[kOffB4 + k];
      for (int j = 0; j < kHidden; ++j) v += w[j] * h3[j];
      out[k] = v;
    }
  }
}

template <typename T>
void InverseFormNet::backward(const T* p, const T* x, int64_t n, const Activations<T>& a, const T* dy, T* dx, T* dp) {
  std::vector<T> d3(kHidden), d2(kFlat), d1(size_t(kC1) * kS1 * kS1);
  for (int64_t s = 0; s < n; ++s) {
    const T* in = x + size_t(s) * kInputs * kTile * kTile;
    const T* h1 = a.h1.data() + size_t(s) * kC1 * kS1 * kS1;
    const T* h2 = a.h2.data() + size_t(s) * kC2 * kS2 * kS2;
    const T* h3 = a.h3.data() + size_t(s) * kHidden;
    const T* g = dy + size_t(s) * kOutputs;
    std::fill(d3.begin(), d3.end(), T(0));
    for (int k = 0; k < kOutputs; ++k) {
      const T* w = p + kOffW4 + size_t(k) * kHidden;
      for (int j = 0; j < kHidden; ++j) {
        d3[j] += g[k] * w[j];
        if (dp) dp[kOffW4 + size_t(k) * kHidden + j] += g[k] * h3[j];
      }
      if (dp) dp[kOffB4 + k] += g[k];
    }
    for (int j = 0; j < kHidden; ++j) d3[j] = h3[j] > T(0) ? d3[j] : T(0);
    std::fill(d2.begin(), d2.end(), T(0));
    for (int j = 0; j < kHidden; ++j) {
      if (d3[j] == T(0)) continue;
      const T* w = p + kOffW3 + size_t(j) * kFlat;
      T* dw = dp ? dp + kOffW3 + size_t(j) * kFlat : nullptr;
      for (size_t f = 0; f < kFlat; ++f) {
        d2[f] += d3[j] * w[f];
        if (dw) dw[f] += d3[j] * h2[f];
      }
      if (dp) dp[kOffB3 + j] += d3[j];
    }
    for (size_t f = 0; f < kFlat; ++f) d2[f] = h2[f] > T(0) ? d2[f] : T(0);
    std::fill(d1.begin(), d1.end(), T(0));
    convBackward(h1, kC1, kS1, p + kOffW2, kC2, d2.data(), d1.data(), dp ? dp + kOffW2 : nullptr, dp ? dp + kOffB2 : nullptr);
    for (size_t j = 0; j < d1.size(); ++j) d1[j] = h1[j] > T(0) ? d1[j] : T(0);
    T* dIn = dx ? dx + size_t(s) * kInputs * kTile * kTile : nullptr;
    if (dIn) std::fill(dIn, dIn + kInputs * kTile * kTile, T(0));
    convBackward(in, kInputs, kTile, p + kOffW1, kC1, d1.data(), dIn, dp ? dp + kOffW1 : nullptr, dp ? dp + kOffB1 : nullptr);
  }
}

template void InverseFormNet::forward<float>(const float*, const float*, int64_t, float*, Activations<float>*);
template void InverseFormNet::forward<double>(const double*, const double*, int64_t, double*, Activations<double>*);
template void InverseFormNet::backward<float>(const float*, const float*, int64_t, const Activations<float>&, const float*,
                                              float*, float*);
template void InverseFormNet::backward<double>(const double*, const double*, int64_t, const Activations<double>&,
                                               const double*, double*, double*);

}  // namespace segloss
