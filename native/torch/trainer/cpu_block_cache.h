// Reuse of freed CPU tensor memory across training steps.
//
// A training step allocates and frees the same sizes every time (activations, their gradients,
// the parameters' gradients: 420 MB of these alone per TransUNet-B/16 step). Through glibc, freed
// blocks of that size go back to the system (mmapped chunks; arena heaps trimmed above the trim
// threshold, and the trainer's own thread allocates from a non-main arena whose heaps shrink
// readily), and the next step faults them in again: the kernel's page zeroing was 8 % of a B/16
// step on the CPU. While a CpuBlockCaching scope is open (Trainer::fit's steps), libtorch's CPU
// allocator is this cache's: a freed block is kept, by its exact size, and handed out again for
// the next allocation of that size; idle blocks are bounded (kIdleLimitBytes) and all given back
// when the last scope closes. Outside a scope it allocates and frees as c10 does (alloc_cpu /
// free_cpu, the same alignment and hints).
#pragma once

#include <cstddef>

namespace segloss::trainer {

/// Idle (freed, kept) bytes the cache holds at most; a block freed beyond it goes back at once.
inline constexpr size_t kIdleLimitBytes = size_t(4) << 30;

/// While alive, freed CPU tensor blocks are kept for reuse (scopes nest; thread-safe). The first
/// one installs the cache as libtorch's CPU allocator (for the rest of the process: outside scopes
/// it behaves as c10's default one).
class CpuBlockCaching {
 public:
  CpuBlockCaching();
  ~CpuBlockCaching();
  CpuBlockCaching(const CpuBlockCaching&) = delete;
  CpuBlockCaching& operator=(const CpuBlockCaching&) = delete;
};

/// What the cache holds now: idle blocks and their bytes (for tests and diagnostics).
struct CpuBlockCacheInfo {
  size_t idleBlocks = 0;
  size_t idleBytes = 0;
  size_t reused = 0;  // allocations served from idle blocks since the process started
};
CpuBlockCacheInfo cpuBlockCacheInfo();

}  // namespace segloss::trainer
