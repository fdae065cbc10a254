// CPU tensor memory kept for reuse across training steps (cpu_block_cache.h).
#include "cpu_block_cache.h"

#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

namespace segloss::trainer {
namespace {

class BlockCache final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t bytes) override {
    void* block = take(bytes);
    return {block, block, &BlockCache::release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &BlockCache::release; }

  // (pure virtual in c10::Allocator from PyTorch 2.3 on; no `override`, so older ones build too)
  void copy_data(void* dest, const void* src, std::size_t count) const {
    if (count > 0) std::memcpy(dest, src, count);
  }

  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++scopes_;
  }

  void close() {
    std::vector<void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--scopes_ > 0) return;
      for (auto& [bytes, list] : idle_) blocks.insert(blocks.end(), list.begin(), list.end());
      for (void* block : blocks) sizes_.erase(block);
      idle_.clear();
      idleBlocks_ = 0;
      idleBytes_ = 0;
    }
    for (void* block : blocks) c10::free_cpu(block);
  }

  CpuBlockCacheInfo info() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {idleBlocks_, idleBytes_, reused_};
  }

  static BlockCache& instance() {
    static BlockCache* cache = new BlockCache();  // never destroyed: tensors may outlive every scope
    return *cache;
  }

 private:
  // A block of `bytes`: an idle one of that size, else a new one (c10::alloc_cpu: 64-byte aligned;
  // it throws c10::Error when out of memory, as the default allocator does).
  void* take(size_t bytes) {
    if (bytes > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it = idle_.find(bytes);
      if (it != idle_.end() && !it->second.empty()) {
        void* block = it->second.back();
        it->second.pop_back();
        --idleBlocks_;
        idleBytes_ -= bytes;
        ++reused_;
        return block;
      }
    }
    void* block = c10::alloc_cpu(bytes);
    if (block != nullptr) {
      std::lock_guard<std::mutex> lock(mutex_);
      sizes_[block] = bytes;
    }
    return block;
  }

  // Kept while a scope is open and the idle bytes allow, else given back.
  void give(void* block) {
    if (block == nullptr) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it = sizes_.find(block);
      const size_t bytes = it == sizes_.end() ? 0 : it->second;
      if (scopes_ > 0 && bytes > 0 && idleBytes_ + bytes <= kIdleLimitBytes) {
        idle_[bytes].push_back(block);
        ++idleBlocks_;
        idleBytes_ += bytes;
        return;
      }
      if (it != sizes_.end()) sizes_.erase(it);
    }
    c10::free_cpu(block);
  }

  static void release(void* block) { instance().give(block); }

  std::mutex mutex_;
  int scopes_ = 0;
  std::unordered_map<void*, size_t> sizes_;              // every live or idle block → its size
  std::unordered_map<size_t, std::vector<void*>> idle_;  // size → its idle blocks
  size_t idleBlocks_ = 0, idleBytes_ = 0, reused_ = 0;
};

void installOnce() {
  static std::once_flag installed;
  std::call_once(installed, [] {
    // above the default allocator's priority (0), so a later default registration cannot undo it
    c10::SetCPUAllocator(&BlockCache::instance(), /*priority=*/1);
  });
}

}  // namespace

CpuBlockCaching::CpuBlockCaching() {
  installOnce();
  BlockCache::instance().open();
}

CpuBlockCaching::~CpuBlockCaching() { BlockCache::instance().close(); }

CpuBlockCacheInfo cpuBlockCacheInfo() { return BlockCache::instance().info(); }

}  // namespace segloss::trainer
