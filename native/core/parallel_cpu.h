// A static split of [0, units) over a few std::threads (the core has no dependency to borrow a
// pool from). Each worker gets one contiguous range, so per-worker partial results merged in
// worker order are deterministic for a given thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

namespace segloss {

// Threads the CPU engines may use: SEGLOSS_NUM_THREADS if set (≥ 1), else the hardware's.
inline int cpuEngineThreads() {
  if (const char* env = std::getenv("SEGLOSS_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

// Workers for `units` work units of about `unitCost` elements each: one per ≥ 2^16 elements.
inline int workersFor(int64_t units, int64_t unitCost) {
  const int64_t byWork = std::max<int64_t>(1, units * unitCost / (int64_t(1) << 16));
  return static_cast<int>(std::min<int64_t>({cpuEngineThreads(), byWork, units}));
}

// Calls body(worker, begin, end) for `workers` contiguous ranges covering [0, units); the calling
// thread runs worker 0. body must not throw.
template <class Body>
void parallelRanges(int64_t units, int workers, const Body& body) {
  if (workers <= 1) {
    body(0, int64_t(0), units);
    return;
  }
  const auto begin = [&](int w) { return units * w / workers; };
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (int w = 1; w < workers; ++w) threads.emplace_back([&, w] { body(w, begin(w), begin(w + 1)); });
  body(0, begin(0), begin(1));
  for (std::thread& t : threads) t.join();
}

}  // namespace segloss
