// Which build of the CPU engine's kernels runs (tile_kernels_{sse2,avx2,avx512}.cpp): the best the
// processor supports, chosen once, or the one SEGLOSS_CPU_ISA names (sse2 | avx2 | avx512).
// The kernels' object files are compiled with their instruction set's flags and share no inline
// code with the rest of the library (host_device.h: always-inlined helpers; a test lists their
// weak symbols), so a prebuilt binary runs on any x86-64.
#pragma once

#include <string>
#include <vector>

namespace segloss {

enum class CpuIsa : int { Sse2 = 0, Avx2 = 1, Avx512 = 2 };

// The instruction set in use. Throws LossArgumentError when SEGLOSS_CPU_ISA names an unknown or
// unsupported one.
CpuIsa activeCpuIsa();

// "sse2", "avx2" or "avx512".
const char* cpuIsaName(CpuIsa isa);

// The instruction sets this processor can run, in increasing order.
std::vector<CpuIsa> supportedCpuIsas();

}  // namespace segloss
