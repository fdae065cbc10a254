// The CPU engine's kernels (tile_kernels_cpu.h) compiled for AVX2; the build gives this file
// its instruction-set flags (binding.gyp, CMakeLists.txt) and cpu_isa.cpp chooses it at load.
#define SEGLOSS_ISA_NAMESPACE isa_avx2
#include "tile_kernels_cpu.h"
