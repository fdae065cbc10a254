// Elementwise helpers that the CPU engine's per-instruction-set kernels (tile_kernels_cpu.h)
// compute with their vectorised exp and log, for loss code that is compiled once, for the baseline
// instruction set (losses/*.h run on the host): each call goes to the kernels of the instruction set
// chosen at load (cpu_isa.h). Defined in losses.cpp.
#pragma once

#include <cstdint>

namespace segloss {

// out[j] = (−logp[j])^γ where −logp[j] > 0, else 0 (float: the kernels' polynomial exp and log,
// relative error ≈ 1e-6 for |γ ln(−log p)| ≤ 10; double: e^{γ ln x} with the C library).
void negatedLogPowersCpu(const float* logp, int64_t n, float gamma, float* out);
void negatedLogPowersCpu(const double* logp, int64_t n, double gamma, double* out);

// sigmoid[j] = σ(z[j]) and softplus[j] = log(1 + e^{−|z[j]|}), both from one e^{−|z|} (float: the
// kernels' polynomials, vectorised; double: the C library's exp and log1p).
void sigmoidSoftplusCpu(const float* z, int64_t n, float* sigmoid, float* softplus);
void sigmoidSoftplusCpu(const double* z, int64_t n, double* sigmoid, double* softplus);

// Whether some z[j], j < n, is NaN or ±∞ (one vectorised pass: z − z is 0 exactly for finite z).
bool hasNonFiniteCpu(const float* z, int n);
bool hasNonFiniteCpu(const double* z, int n);

}  // namespace segloss
