// exp and log written as straight-line arithmetic so that the compiler vectorises the CPU engine's
// tile loops (for each instruction set the engine is built for: SSE2, AVX2, AVX-512; no
// -ffast-math, no libmvec). float uses the Cephes single-precision polynomials (max relative
// error ≈ 2 ulp); double calls the C library, because float64 is the precision used for checks.
// Included only by the per-instruction-set engine files (tile_kernels_cpu.h), inside their namespace.
#pragma once

#ifndef SEGLOSS_ISA_NAMESPACE
#error "vector_math.h belongs to the per-ISA CPU engine: define SEGLOSS_ISA_NAMESPACE (see tile_kernels_cpu.h)"
#endif

#include <bit>
#include <cmath>
#include <cstdint>

#include "host_device.h"

namespace segloss::SEGLOSS_ISA_NAMESPACE {

// e^x for float, for x ≤ 88.7 (the engines only take e^{≤ 0}); below −87.3 it returns the smallest
// normal float (≈ 1.2e-38) instead of 0, which keeps every later division and logarithm finite.
// Branch-free (max / min / compare-and-mask), so a loop of it vectorises.
SEGLOSS_INLINE float tileExp(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  x = x > -87.33654f ? x : -87.33654f;
  x = x < 88.72283f ? x : 88.72283f;
  const float t = x * kLog2e + 0.5f;  // ∈ [−125.5, 128.5]
  // floor(t) as a truncation of a positive number (a compare-and-step after truncating does not
  // if-convert in GCC's vectoriser, and SSE2 has no vector floor)
  const int32_t k = static_cast<int32_t>(t + 128.0f) - 128;
  const float n = static_cast<float>(k);
  const float r = x - n * kLn2Hi - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * (r * r) + r + 1.0f;
  return y * std::bit_cast<float>((k + 127) << 23);  // · 2^k, k ∈ [−126, 128]
}

// log(x) for float x > 0 (normal numbers; subnormals are flushed to the smallest normal).
SEGLOSS_INLINE float tileLog(float x) {
  constexpr float kSqrtHalf = 0.707106781186547524f;
  const float v = x < 1.17549435e-38f ? 1.17549435e-38f : x;
  const int32_t bits = std::bit_cast<int32_t>(v);
  float e = static_cast<float>((bits >> 23) - 126);
  float m = std::bit_cast<float>((bits & 0x007fffff) | 0x3f000000);  // m ∈ [0.5, 1)
  const bool small = m < kSqrtHalf;
  e = small ? e - 1.0f : e;
  m = small ? m + m - 1.0f : m - 1.0f;
  const float z = m * m;
  float p = 7.0376836292e-2f;
  p = p * m - 1.1514610310e-1f;
  p = p * m + 1.1676998740e-1f;
  p = p * m - 1.2420140846e-1f;
  p = p * m + 1.4249322787e-1f;
  p = p * m - 1.6668057665e-1f;
  p = p * m + 2.0000714765e-1f;
  p = p * m - 2.4999993993e-1f;
  p = p * m + 3.3333331174e-1f;
  float y = m * z * p;
  y += e * -2.12194440e-4f;
  y -= 0.5f * z;
  return m + y + e * 0.693359375f;
}

SEGLOSS_INLINE double tileExp(double x) { return std::exp(x); }
SEGLOSS_INLINE double tileLog(double x) { return std::log(x); }

// log(1 + x) for x ∈ [0, 1] (float: via tileLog, absolute error ≈ 1e-7; double: exact log1p).
SEGLOSS_INLINE float tileLog1p(float x) { return tileLog(1.0f + x); }
SEGLOSS_INLINE double tileLog1p(double x) { return std::log1p(x); }

}  // namespace segloss
