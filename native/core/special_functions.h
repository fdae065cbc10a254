// ln Γ(x) and ψ(x) = d ln Γ / dx for x > 0 in double, host and device, with no global state
// (glibc's lgamma writes the global signgam; the heads run on worker threads). Both shift x up by
// the recurrences Γ(x + 1) = x Γ(x), ψ(x + 1) = ψ(x) + 1/x until x ≥ 10, then use the asymptotic
// (Stirling) series, whose truncation error there is below 1e-16 relative.
#pragma once

#include <cmath>

#include "host_device.h"

namespace segloss {

// ln Γ(x), x > 0.
SEGLOSS_HD inline double logGamma(double x) {
  double shift = 0.0;  // Σ ln of the factors x, x + 1, … taken off
  double product = 1.0;
  while (x < 10.0) {
    product *= x;
    x += 1.0;
    if (product > 1e280) {
      shift += ::log(product);
      product = 1.0;
    }
  }
  shift += ::log(product);
  const double inv = 1.0 / x, inv2 = inv * inv;
  // (x − ½) ln x − x + ½ ln 2π + 1/(12x) − 1/(360x³) + 1/(1260x⁵) − 1/(1680x⁷) + 1/(1188x⁹)
  const double series = inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260 - inv2 * (1.0 / 1680 - inv2 / 1188))));
  return (x - 0.5) * ::log(x) - x + 0.91893853320467274178 + series - shift;
}

// ψ(x) = d ln Γ(x) / dx, x > 0.
SEGLOSS_HD inline double digamma(double x) {
  double shift = 0.0;
  while (x < 10.0) {
    shift += 1.0 / x;
    x += 1.0;
  }
  const double inv = 1.0 / x, inv2 = inv * inv;
  // ln x − 1/(2x) − 1/(12x²) + 1/(120x⁴) − 1/(252x⁶) + 1/(240x⁸) − 1/(132x¹⁰)
  const double series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 / 132))));
  return ::log(x) - 0.5 * inv - series - shift;
}

}  // namespace segloss
