// The CPU engines' threads: one persistent pool (created on first use, never per call) that runs
// a static split of [0, units) into contiguous ranges, one per worker, so that per-worker partial
// results merged in worker order are deterministic for a given thread count. Callers on several
// threads at once (async workers) share it: a call that finds the pool busy runs its ranges on
// its own thread, one after another (same split, same result).
#pragma once

#include <cstdint>
#include <functional>

namespace segloss {

// Threads the CPU engines may use on the calling thread: SEGLOSS_NUM_THREADS if set (≥ 1), else
// the hardware's, at most the calling thread's EngineThreadLimit if one is in scope.
int cpuEngineThreads();

// Caps cpuEngineThreads() on the constructing thread while in scope (a trainer's `threads`), so
// one caller's limit never changes another thread's. max ≤ 0: no cap.
class EngineThreadLimit {
 public:
  explicit EngineThreadLimit(int max);
  ~EngineThreadLimit();
  EngineThreadLimit(const EngineThreadLimit&) = delete;
  EngineThreadLimit& operator=(const EngineThreadLimit&) = delete;

 private:
  int previous_;
};

// Workers for `units` work units of about `unitCost` elements each: one per ≥ 2^15 elements.
int workersFor(int64_t units, int64_t unitCost);

// Calls body(worker, begin, end) for `workers` contiguous ranges covering [0, units), on the pool
// (the calling thread runs worker 0) and returns when all are done. body must not throw.
void parallelRanges(int64_t units, int workers, const std::function<void(int, int64_t, int64_t)>& body);

}  // namespace segloss
