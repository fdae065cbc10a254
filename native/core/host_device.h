// Marks functions that run on both the CPU and CUDA engines.
#pragma once

#if defined(__CUDACC__)
#define SEGLOSS_HD __host__ __device__
#define SEGLOSS_INLINE __forceinline__
#else
#define SEGLOSS_HD
#define SEGLOSS_INLINE inline
#endif
