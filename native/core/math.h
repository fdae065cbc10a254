// Scalar helpers shared by the CPU and CUDA engines (host/device, overloaded for float and double).
#pragma once

#include <cmath>

#include "host_device.h"

namespace segloss {

SEGLOSS_HD SEGLOSS_INLINE float fastExp(float x) { return ::expf(x); }
SEGLOSS_HD SEGLOSS_INLINE double fastExp(double x) { return ::exp(x); }
SEGLOSS_HD SEGLOSS_INLINE float fastLog(float x) { return ::logf(x); }
SEGLOSS_HD SEGLOSS_INLINE double fastLog(double x) { return ::log(x); }
SEGLOSS_HD SEGLOSS_INLINE float fastLog1p(float x) { return ::log1pf(x); }
SEGLOSS_HD SEGLOSS_INLINE double fastLog1p(double x) { return ::log1p(x); }

template <typename T>
SEGLOSS_HD SEGLOSS_INLINE T maxOf(T a, T b) { return a > b ? a : b; }
template <typename T>
SEGLOSS_HD SEGLOSS_INLINE T minOf(T a, T b) { return a < b ? a : b; }

// σ(x) without overflow for |x| large.
template <typename T>
SEGLOSS_HD SEGLOSS_INLINE T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + fastExp(-x));
  const T e = fastExp(x);
  return e / (T(1) + e);
}

// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
template <typename T>
SEGLOSS_HD SEGLOSS_INLINE T softplus(T x) {
  const T ax = x >= T(0) ? x : -x;
  return maxOf(x, T(0)) + fastLog1p(fastExp(-ax));
}

// The smallest probability a caller-supplied ('none' activation) probability is clamped to
// before a logarithm or a division, per precision.
template <typename T>
struct ProbabilityFloor;
template <>
struct ProbabilityFloor<float> {
  static constexpr float value = 1e-30f;
};
template <>
struct ProbabilityFloor<double> {
  static constexpr double value = 1e-300;
};

}  // namespace segloss
