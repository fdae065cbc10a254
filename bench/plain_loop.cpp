// The "plain vectorised loop" baseline of bench/cpu-engine.js: the same losses as segloss's fused
// CPU engine (default dice, cross-entropy, 0.5·dice + 0.5·cross-entropy, topk, combo, exp-log;
// float32, forward + gradient) written the simplest fast way — per tile of 256 pixels: max over classes, expf, sum,
// per-class sums; then a second pass that recomputes the softmax and writes the gradient. Built by
// the benchmark with `-O3 -march=native -ffast-math -fopenmp` for the machine it runs on; not part
// of the package.
//
//   plain_loop <dice|cross-entropy|dice+ce|topk|combo|exp-log> B C H W threads iterations   → prints "median_ms value"
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr int kTile = 256;

struct Problem {
  int64_t B, C, N;
  const float* z;      // [B, C, N]
  const uint8_t* t;    // [B, N]
  float* grad;         // [B, C, N]
  double diceWeight, ceWeight;
};

// Softmax of one tile (logits z, channel stride N) into p[C][kTile] and lse (log-sum-exp) per pixel.
inline void softmaxTile(const float* __restrict z, int64_t N, int C, int n, float* __restrict p, float* __restrict lse) {
  float m[kTile], s[kTile];
  for (int j = 0; j < n; ++j) m[j] = z[j];
  for (int c = 1; c < C; ++c) {
    const float* __restrict zc = z + c * N;
    for (int j = 0; j < n; ++j) m[j] = zc[j] > m[j] ? zc[j] : m[j];
  }
  for (int j = 0; j < n; ++j) s[j] = 0.f;
  for (int c = 0; c < C; ++c) {
    const float* __restrict zc = z + c * N;
    float* __restrict pc = p + c * kTile;
    for (int j = 0; j < n; ++j) {
      pc[j] = std::exp(zc[j] - m[j]);
      s[j] += pc[j];
    }
  }
  for (int j = 0; j < n; ++j) {
    lse[j] = m[j] + std::log(s[j]);
    s[j] = 1.f / s[j];
  }
  for (int c = 0; c < C; ++c) {
    float* __restrict pc = p + c * kTile;
    for (int j = 0; j < n; ++j) pc[j] *= s[j];
  }
}

// cross-entropy alone: one pass (value and gradient (p − g) / count).
double runCrossEntropy(const Problem& q) {
  const int64_t tiles = (q.N + kTile - 1) / kTile;
  const int64_t units = q.B * tiles;
  const int C = int(q.C);
  const float scale = float(1.0 / double(q.B * q.N));
  double ce = 0.0;
#pragma omp parallel reduction(+ : ce)
  {
    std::vector<float> p(q.C * kTile);
    float lse[kTile];
#pragma omp for schedule(static)
    for (int64_t u = 0; u < units; ++u) {
      const int64_t b = u / tiles, i0 = (u % tiles) * kTile;
      const int n = static_cast<int>(std::min<int64_t>(kTile, q.N - i0));
      const float* z = q.z + b * q.C * q.N + i0;
      softmaxTile(z, q.N, C, n, p.data(), lse);
      const uint8_t* t = q.t + b * q.N + i0;
      float* out = q.grad + b * q.C * q.N + i0;
      float sum = 0.f;
      for (int j = 0; j < n; ++j) sum += lse[j];
      for (int c = 0; c < C; ++c) {
        float sz = 0.f;
        for (int j = 0; j < n; ++j) {
          const float g = int(t[j]) == c ? 1.f : 0.f;
          sz += g * z[c * q.N + j];
          out[c * q.N + j] = scale * (p[c * kTile + j] - g);
        }
        sum -= sz;
      }
      ce += sum;
    }
  }
  return ce / double(q.B * q.N);
}

double run(const Problem& q) {
  if (q.diceWeight == 0.0) return runCrossEntropy(q);
  const int64_t tiles = (q.N + kTile - 1) / kTile;
  const int64_t units = q.B * tiles;
  std::vector<double> I(q.C, 0.0), P(q.C, 0.0), G(q.C, 0.0);
  double ce = 0.0;
#pragma omp parallel
  {
    std::vector<float> p(q.C * kTile);
    float lse[kTile];
    std::vector<double> li(q.C, 0.0), lp(q.C, 0.0), lg(q.C, 0.0);
    double lce = 0.0;
#pragma omp for schedule(static)
    for (int64_t u = 0; u < units; ++u) {
      const int64_t b = u / tiles, i0 = (u % tiles) * kTile;
      const int n = static_cast<int>(std::min<int64_t>(kTile, q.N - i0));
      const float* z = q.z + b * q.C * q.N + i0;
      softmaxTile(z, q.N, int(q.C), n, p.data(), lse);
      const uint8_t* t = q.t + b * q.N + i0;
      for (int c = 0; c < int(q.C); ++c) {
        float si = 0.f, sp = 0.f, sg = 0.f, sz = 0.f;
        for (int j = 0; j < n; ++j) {
          const float g = int(t[j]) == c ? 1.f : 0.f;
          si += p[c * kTile + j] * g;
          sp += p[c * kTile + j];
          sg += g;
          sz += g * z[c * q.N + j];
        }
        li[c] += si; lp[c] += sp; lg[c] += sg;
        lce -= sz;
      }
      float sl = 0.f;
      for (int j = 0; j < n; ++j) sl += lse[j];
      lce += sl;
    }
#pragma omp critical
    {
      for (int c = 0; c < int(q.C); ++c) { I[c] += li[c]; P[c] += lp[c]; G[c] += lg[c]; }
      ce += lce;
    }
  }
  const double smooth = 1e-5, count = double(q.B * q.N);
  std::vector<float> dI(q.C), dP(q.C);
  double dice = 0.0;
  for (int c = 0; c < int(q.C); ++c) {
    const double num = 2 * I[c] + smooth, den = P[c] + G[c] + smooth;
    dice += 1.0 - num / den;
    dI[c] = float(q.diceWeight * (-2.0 / den) / q.C);
    dP[c] = float(q.diceWeight * (num / (den * den)) / q.C);
  }
  const double value = q.diceWeight * dice / q.C + q.ceWeight * ce / count;
  const float ceScale = float(q.ceWeight / count);
#pragma omp parallel
  {
    std::vector<float> p(q.C * kTile);
    float lse[kTile], dot[kTile];
#pragma omp for schedule(static)
    for (int64_t u = 0; u < units; ++u) {
      const int64_t b = u / tiles, i0 = (u % tiles) * kTile;
      const int n = static_cast<int>(std::min<int64_t>(kTile, q.N - i0));
      softmaxTile(q.z + b * q.C * q.N + i0, q.N, int(q.C), n, p.data(), lse);
      const uint8_t* t = q.t + b * q.N + i0;
      float* out = q.grad + b * q.C * q.N + i0;
      for (int j = 0; j < n; ++j) dot[j] = 0.f;
      for (int c = 0; c < int(q.C); ++c)  // dice: u_c = p_c (dP + dI g)
        for (int j = 0; j < n; ++j) {
          const float g = int(t[j]) == c ? 1.f : 0.f;
          const float uc = p[c * kTile + j] * (dP[c] + dI[c] * g);
          dot[j] += uc;
        }
      for (int c = 0; c < int(q.C); ++c)
        for (int j = 0; j < n; ++j) {
          const float g = int(t[j]) == c ? 1.f : 0.f;
          const float pc = p[c * kTile + j];
          out[c * q.N + j] = pc * (dP[c] + dI[c] * g) - pc * dot[j] + (q.ceWeight != 0.0 ? ceScale * (pc - g) : 0.f);
        }
    }
  }
  return value;
}

// ---- topk, combo, exp-log: the same computations as segloss's special family ------------------
// Per tile: softmax (softmaxTile), the per-class sums, and per-pixel values; then a second pass
// that recomputes the softmax, builds u = p · d value / d p per class and writes the softmax
// Jacobian dz_k = u_k − p_k Σ_c u_c. topk keeps the per-pixel cross-entropy in a [B, N] array and
// selects with std::nth_element on a copy (the plain way).

template <class U>
void softmaxGradientPass(const Problem& q, const U& fillU) {
  const int64_t tiles = (q.N + kTile - 1) / kTile;
  const int64_t units = q.B * tiles;
  const int C = int(q.C);
#pragma omp parallel
  {
    std::vector<float> p(q.C * kTile), u(q.C * kTile);
    float lse[kTile], total[kTile];
#pragma omp for schedule(static)
    for (int64_t w = 0; w < units; ++w) {
      const int64_t b = w / tiles, i0 = (w % tiles) * kTile;
      const int n = static_cast<int>(std::min<int64_t>(kTile, q.N - i0));
      const float* z = q.z + b * q.C * q.N + i0;
      softmaxTile(z, q.N, C, n, p.data(), lse);
      fillU(b, i0, n, z, p.data(), lse, u.data());
      for (int j = 0; j < n; ++j) total[j] = 0.f;
      for (int c = 0; c < C; ++c)
        for (int j = 0; j < n; ++j) total[j] += u[c * kTile + j];
      float* out = q.grad + b * q.C * q.N + i0;
      for (int c = 0; c < C; ++c)
        for (int j = 0; j < n; ++j) out[c * q.N + j] = u[c * kTile + j] - p[c * kTile + j] * total[j];
    }
  }
}

// The per-class sums I, P, G over the batch (and, through perPixel(b, i0, n, z, p, lse, t), any
// per-pixel values a loss accumulates itself).
struct ClassSums {
  std::vector<double> I, P, G;
};

template <class F>
ClassSums statisticsPass(const Problem& q, const F& perPixel) {
  const int64_t tiles = (q.N + kTile - 1) / kTile;
  const int64_t units = q.B * tiles;
  const int C = int(q.C);
  ClassSums out{std::vector<double>(C, 0.0), std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
#pragma omp parallel
  {
    std::vector<float> p(q.C * kTile);
    float lse[kTile];
    std::vector<double> li(C, 0.0), lp(C, 0.0), lg(C, 0.0);
#pragma omp for schedule(static)
    for (int64_t w = 0; w < units; ++w) {
      const int64_t b = w / tiles, i0 = (w % tiles) * kTile;
      const int n = static_cast<int>(std::min<int64_t>(kTile, q.N - i0));
      const float* z = q.z + b * q.C * q.N + i0;
      softmaxTile(z, q.N, C, n, p.data(), lse);
      const uint8_t* t = q.t + b * q.N + i0;
      for (int c = 0; c < C; ++c) {
        float si = 0.f, sp = 0.f, sg = 0.f;
        for (int j = 0; j < n; ++j) {
          const float g = int(t[j]) == c ? 1.f : 0.f;
          si += p[c * kTile + j] * g;
          sp += p[c * kTile + j];
          sg += g;
        }
        li[c] += si; lp[c] += sp; lg[c] += sg;
      }
      perPixel(b, i0, n, z, p.data(), lse, t);
    }
#pragma omp critical
    for (int c = 0; c < C; ++c) { out.I[c] += li[c]; out.P[c] += lp[c]; out.G[c] += lg[c]; }
  }
  return out;
}

// The true class's log p at pixel j of a tile (z_t − lse).
inline float trueLogProb(const float* z, int64_t N, const uint8_t* t, const float* lse, int j) {
  return z[int64_t(t[j]) * N + j] - lse[j];
}

// topk (k = 10 %): mean of the largest 10 % of −log p_t; gradient −(1/n) at the selected pixels.
double runTopK(const Problem& q) {
  std::vector<float> ce(q.B * q.N);
  statisticsPass(q, [&](int64_t b, int64_t i0, int n, const float* z, const float*, const float* lse, const uint8_t* t) {
    for (int j = 0; j < n; ++j) ce[b * q.N + i0 + j] = -trueLogProb(z, q.N, t, lse, j);
  });
  const int64_t count = std::max<int64_t>(1, int64_t(std::floor(double(q.B * q.N) * 0.1)));
  std::vector<float> copy(ce);
  std::nth_element(copy.begin(), copy.begin() + (count - 1), copy.end(), std::greater<float>());
  const float tau = copy[count - 1];
  double sum = 0.0;
  for (int64_t i = 0; i < count; ++i) sum += copy[i];
  const float w = float(1.0 / double(count));
  softmaxGradientPass(q, [&](int64_t b, int64_t i0, int n, const float*, const float* p, const float*, float* u) {
    const uint8_t* t = q.t + b * q.N + i0;
    for (int c = 0; c < int(q.C); ++c)
      for (int j = 0; j < n; ++j) {
        const bool selected = ce[b * q.N + i0 + j] >= tau;
        u[c * kTile + j] = selected && int(t[j]) == c ? -w : 0.f;
      }
    (void)p;
  });
  return sum / double(count);
}

// combo (α = β = 0.5, Dice smooth 1e-5): α·WCE_β + (1 − α)(1 − Dice) with
// WCE_β = mean over pixels and classes of −[β g ln p + (1 − β)(1 − g) ln(1 − p)].
double runCombo(const Problem& q) {
  const int C = int(q.C);
  const float beta = 0.5f, alpha = 0.5f;
  double wce = 0.0;
  const ClassSums sums = statisticsPass(q, [&](int64_t, int64_t, int n, const float*, const float* p, const float*, const uint8_t* t) {
    float s = 0.f;
    for (int c = 0; c < C; ++c)
      for (int j = 0; j < n; ++j) {
        const float pc = p[c * kTile + j];
        s -= int(t[j]) == c ? beta * std::log(std::max(pc, 1e-30f)) : (1 - beta) * std::log(std::max(1 - pc, 1e-30f));
      }
#pragma omp atomic
    wce += s;
  });
  const double count = double(q.B * q.N) * C, smooth = 1e-5;
  std::vector<float> dI(C), dP(C);
  double dice = 0.0;
  for (int c = 0; c < C; ++c) {
    const double num = 2 * sums.I[c] + smooth, den = sums.P[c] + sums.G[c] + smooth;
    dice += num / den;
    dI[c] = float((1 - alpha) * (-2.0 / den) / C);
    dP[c] = float((1 - alpha) * (num / (den * den)) / C);
  }
  const float s = float(alpha / count);
  softmaxGradientPass(q, [&](int64_t b, int64_t i0, int n, const float*, const float* p, const float*, float* u) {
    const uint8_t* t = q.t + b * q.N + i0;
    for (int c = 0; c < C; ++c)
      for (int j = 0; j < n; ++j) {
        const float pc = p[c * kTile + j];
        const float g = int(t[j]) == c ? 1.f : 0.f;
        const float ce = g > 0 ? -s * beta : s * (1 - beta) * pc / std::max(1 - pc, 1e-30f);
        u[c * kTile + j] = ce + pc * (dP[c] + dI[c] * g);
      }
  });
  return alpha * wce / count + (1 - alpha) * (1 - dice / C);
}

// exp-log (w_dice 0.8, w_ce 0.2, γ 0.3, smooth 1): w_dice · mean_c (−ln D_c)^γ +
// w_ce · (1/V) Σ w_t (−ln p_t)^γ, w_l = (Σ_k f_k / f_l)^½.
double runExpLog(const Problem& q) {
  const int C = int(q.C);
  const double wDice = 0.8, wCe = 0.2, gamma = 0.3, smooth = 1.0, V = double(q.B * q.N);
  std::vector<double> classCe(C, 0.0);
  const ClassSums sums = statisticsPass(q, [&](int64_t, int64_t, int n, const float* z, const float*, const float* lse, const uint8_t* t) {
    std::vector<float> local(C, 0.f);
    for (int j = 0; j < n; ++j) local[t[j]] += std::pow(std::max(-trueLogProb(z, q.N, t, lse, j), 0.f), float(gamma));
#pragma omp critical
    for (int c = 0; c < C; ++c) classCe[c] += local[c];
  });
  std::vector<float> dI(C), dP(C), weight(C);
  double value = 0.0;
  for (int c = 0; c < C; ++c) {
    const double num = 2 * sums.I[c] + smooth, den = sums.P[c] + sums.G[c] + smooth, d = num / den;
    const double x = -std::log(std::max(d, 1e-6)), xg = std::pow(x, gamma);
    value += wDice * xg / C;
    const double dTerm = x > 0 ? -wDice * gamma * xg / x / d / C : 0.0;  // d value / d D
    dI[c] = float(dTerm * 2.0 / den);
    dP[c] = float(dTerm * -num / (den * den));
    weight[c] = float(sums.G[c] > 0 ? std::sqrt(V / sums.G[c]) : 0.0);
    value += wCe * weight[c] * classCe[c] / V;
  }
  softmaxGradientPass(q, [&](int64_t b, int64_t i0, int n, const float* z, const float* p, const float* lse, float* u) {
    const uint8_t* t = q.t + b * q.N + i0;
    for (int c = 0; c < C; ++c)
      for (int j = 0; j < n; ++j) {
        const float pc = p[c * kTile + j];
        const float g = int(t[j]) == c ? 1.f : 0.f;
        u[c * kTile + j] = pc * (dP[c] + dI[c] * g);
      }
    for (int j = 0; j < n; ++j) {
      const float x = std::max(-trueLogProb(z, q.N, t, lse, j), 1e-30f);
      u[int(t[j]) * kTile + j] += float(-wCe / V) * weight[t[j]] * float(gamma) * std::pow(x, float(gamma) - 1.f);
    }
  });
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: plain_loop <dice|cross-entropy|dice+ce|topk|combo|exp-log> B C H W threads iterations\n");
    return 2;
  }
  const char* loss = argv[1];
  const int64_t B = std::atoll(argv[2]), C = std::atoll(argv[3]), N = std::atoll(argv[4]) * std::atoll(argv[5]);
  omp_set_num_threads(std::atoi(argv[6]));
  const int iterations = std::atoi(argv[7]);
  std::vector<float> z(B * C * N), grad(B * C * N);
  std::vector<uint8_t> t(B * N);
  uint32_t state = 0x9e3779b9u;
  const auto next = [&] { state ^= state << 13; state ^= state >> 17; state ^= state << 5; return state / 4294967296.0; };
  for (float& v : z) v = float(6 * next() - 3);
  for (uint8_t& v : t) v = uint8_t(next() * C);
  Problem q{B, C, N, z.data(), t.data(), grad.data(), 0.0, 0.0};
  if (!std::strcmp(loss, "dice")) q.diceWeight = 1.0;
  else if (!std::strcmp(loss, "cross-entropy")) q.ceWeight = 1.0;
  else if (!std::strcmp(loss, "dice+ce")) { q.diceWeight = 0.5; q.ceWeight = 0.5; }
  double (*special)(const Problem&) = !std::strcmp(loss, "topk") ? runTopK : !std::strcmp(loss, "combo") ? runCombo
                                      : !std::strcmp(loss, "exp-log") ? runExpLog : nullptr;
  if (!special && q.diceWeight == 0.0 && q.ceWeight == 0.0) {
    std::fprintf(stderr, "plain_loop: unknown loss %s\n", loss);
    return 2;
  }
  std::vector<double> times;
  double value = 0.0;
  for (int i = 0; i < iterations + 2; ++i) {
    const auto start = std::chrono::steady_clock::now();
    value = special ? special(q) : run(q);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (i >= 2) times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  std::printf("%.4f %.9f\n", times[times.size() / 2], value);
  return 0;
}
