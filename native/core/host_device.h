// Marks functions that run on both the CPU and CUDA engines. On the host they are always inlined:
// the CPU engine is compiled once per instruction set (cpu_isa.h), and an out-of-line copy of a
// shared inline function compiled for AVX-512 must never be what an SSE2 caller links to.
#pragma once

#if defined(__CUDACC__)
#define SEGLOSS_HD __host__ __device__
#define SEGLOSS_INLINE __forceinline__
#else
#define SEGLOSS_HD
#if defined(__GNUC__)
#define SEGLOSS_INLINE inline __attribute__((always_inline))
#else
#define SEGLOSS_INLINE inline
#endif
#endif
