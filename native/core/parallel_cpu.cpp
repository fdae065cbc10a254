// The persistent thread pool (parallel_cpu.h).
#include "parallel_cpu.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace segloss {
namespace {

thread_local int threadLimit = 0;  // this thread's EngineThreadLimit; 0: none

// SEGLOSS_NUM_THREADS if set (≥ 1), else the hardware's; no thread's limit applied.
int configuredThreads() {
  if (const char* env = std::getenv("SEGLOSS_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { workerLoop(t + 1); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  int helpers() const { return static_cast<int>(threads_.size()); }

  // Runs worker ranges 1 … workers − 1 on the pool and range 0 here; false when the pool is busy.
  bool tryRun(int64_t units, int workers, const std::function<void(int, int64_t, int64_t)>& body) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      units_ = units;
      workers_ = workers;
      pending_.store(workers - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    body(0, 0, units / workers);
    spinUntil([this] { return pending_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    body_ = nullptr;
    return true;
  }

 private:
  // Spins (pausing) until ready() or kSpinTime has passed: a call's ranges are often followed by
  // the next call's within microseconds (a loss makes several passes), and a sleeping thread takes
  // tens of microseconds to wake; after that the condition variables take over (as OpenMP runtimes
  // spin before they block).
  template <class Ready>
  static void spinUntil(const Ready& ready) {
    constexpr auto kSpinTime = std::chrono::microseconds(100);
    const auto until = std::chrono::steady_clock::now() + kSpinTime;
    for (int i = 1; !ready(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if (i % 64 == 0 && std::chrono::steady_clock::now() >= until) return;
    }
  }

  void workerLoop(int worker) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int, int64_t, int64_t)>* body;
      int64_t units;
      int workers;
      spinUntil([&] { return generation_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_.load(std::memory_order_relaxed) != seen; });
        if (stopping_) return;
        seen = generation_.load(std::memory_order_relaxed);
        if (worker >= workers_) continue;
        body = body_;
        units = units_;
        workers = workers_;
      }
      (*body)(worker, units * worker / workers, units * (worker + 1) / workers);
      std::lock_guard<std::mutex> lock(mutex_);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex busy_;  // held by the one call running on the pool
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int, int64_t, int64_t)>* body_ = nullptr;
  int64_t units_ = 0;
  int workers_ = 0;
  std::atomic<int> pending_{0};          // written under mutex_; read by the spinning caller too
  std::atomic<uint64_t> generation_{0};  // the same, for the spinning workers
  bool stopping_ = false;
};

ThreadPool& pool() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock
  // (the addon may be unloaded while Node tears down); the OS reclaims the threads.
  // Sized for the larger of the hardware and SEGLOSS_NUM_THREADS at first use, so that a later,
  // smaller SEGLOSS_NUM_THREADS (read on every call by workersFor) still works.
  static ThreadPool* instance =
      new ThreadPool(std::max<int>(configuredThreads(), static_cast<int>(std::thread::hardware_concurrency())) - 1);
  return *instance;
}

}  // namespace

int cpuEngineThreads() {
  const int configured = configuredThreads();
  return threadLimit > 0 ? std::min(configured, threadLimit) : configured;
}

EngineThreadLimit::EngineThreadLimit(int max) : previous_(threadLimit) { threadLimit = max > 0 ? max : 0; }

EngineThreadLimit::~EngineThreadLimit() { threadLimit = previous_; }

int workersFor(int64_t units, int64_t unitCost) {
  const int64_t byWork = std::max<int64_t>(1, units * unitCost / (int64_t(1) << 15));
  return static_cast<int>(std::min<int64_t>({cpuEngineThreads(), byWork, units}));
}

void parallelRanges(int64_t units, int workers, const std::function<void(int, int64_t, int64_t)>& body) {
  if (workers > 1) {
    ThreadPool& threads = pool();
    workers = std::min(workers, threads.helpers() + 1);
    if (workers > 1 && threads.tryRun(units, workers, body)) return;
  }
  for (int w = 0; w < std::max(workers, 1); ++w) body(w, units * w / std::max(workers, 1), units * (w + 1) / std::max(workers, 1));
}

}  // namespace segloss
