// Choosing the CPU kernels (cpu_isa.h).
#include "cpu_isa.h"

#include <cstdlib>
#include <string>

#include "losses.h"

namespace segloss {
namespace {

bool supports(CpuIsa isa) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  switch (isa) {
    case CpuIsa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
    case CpuIsa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default: return true;
  }
#else
  return isa == CpuIsa::Sse2;
#endif
}

CpuIsa chooseCpuIsa() {
  const char* forced = std::getenv("SEGLOSS_CPU_ISA");
  if (forced && *forced) {
    const std::string name(forced);
    for (const CpuIsa isa : {CpuIsa::Sse2, CpuIsa::Avx2, CpuIsa::Avx512}) {
      if (name != cpuIsaName(isa)) continue;
      if (!supports(isa)) throw LossArgumentError("SEGLOSS_CPU_ISA=" + name + ": this processor does not support it");
      return isa;
    }
    throw LossArgumentError("SEGLOSS_CPU_ISA=" + name + " is not one of sse2, avx2, avx512");
  }
  if (supports(CpuIsa::Avx512)) return CpuIsa::Avx512;
  if (supports(CpuIsa::Avx2)) return CpuIsa::Avx2;
  return CpuIsa::Sse2;
}

}  // namespace

CpuIsa activeCpuIsa() {
  static const CpuIsa isa = chooseCpuIsa();  // a throwing initialiser is retried on the next call
  return isa;
}

const char* cpuIsaName(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512: return "avx512";
    case CpuIsa::Avx2: return "avx2";
    default: return "sse2";
  }
}

std::vector<CpuIsa> supportedCpuIsas() {
  std::vector<CpuIsa> result;
  for (const CpuIsa isa : {CpuIsa::Sse2, CpuIsa::Avx2, CpuIsa::Avx512}) {
    if (supports(isa)) result.push_back(isa);
  }
  return result;
}

}  // namespace segloss
