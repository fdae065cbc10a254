// The "plain vectorised loop" baseline of bench/cpu-engine.js: the same losses as segloss's fused
// CPU engine (default dice, cross-entropy, 0.5·dice + 0.5·cross-entropy; float32, forward +
// gradient) written the simplest fast way — per tile of 256 pixels: max over classes, expf, sum,
// per-class sums; then a second pass that recomputes the softmax and writes the gradient. Built by
// the benchmark with `-O3 -march=native -ffast-math -fopenmp` for the machine it runs on; not part
// of the package.
//
//   plain_loop <dice|cross-entropy|dice+ce> B C H W threads iterations   → prints "median_ms value"
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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: plain_loop <dice|cross-entropy|dice+ce> B C H W threads iterations\n");
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
  else { q.diceWeight = 0.5; q.ceWeight = 0.5; }
  std::vector<double> times;
  double value = 0.0;
  for (int i = 0; i < iterations + 2; ++i) {
    const auto start = std::chrono::steady_clock::now();
    value = run(q);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (i >= 2) times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  std::printf("%.4f %.9f\n", times[times.size() / 2], value);
  return 0;
}
