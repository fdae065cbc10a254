// The CUDA runtime as the engines use it: kernel launches, async zeroing, the device's
// multiprocessor count, error checks and dynamic shared memory. Every engine goes through these
// names only, so the same kernels also run under the host emulation that scripts/compile-cuda.sh
// uses to check them on a machine without a GPU (SEGLOSS_CUDA_HOST_EMULATION, emulation/).
#pragma once

#if defined(SEGLOSS_CUDA_HOST_EMULATION)
#include "emulation/emulated_runtime.h"
#else

#include <cuda_runtime.h>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace segloss::cuda {

using Stream = cudaStream_t;

// Throws std::runtime_error("segloss CUDA: <what>: <cudaGetErrorString>") for any status but success.
inline void checkCuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("segloss CUDA: ") + what + ": " + cudaGetErrorString(status));
  }
}

// Enqueues kernel<<<grid, block, sharedBytes, stream>>>(args...) and reports a failed launch.
template <typename... Params, typename... Args>
void launchKernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t sharedBytes, Stream stream,
                  const Args&... args) {
  kernel<<<grid, block, sharedBytes, stream>>>(args...);
  checkCuda(cudaGetLastError(), "kernel launch");
}

// Enqueues a memset of `bytes` zero bytes at device pointer `data` on `stream`.
inline void zeroAsync(void* data, size_t bytes, Stream stream) {
  checkCuda(cudaMemsetAsync(data, 0, bytes, stream), "cudaMemsetAsync");
}

// Streaming multiprocessors of the current device (sizes the grids; no synchronisation).
inline int multiprocessorCount() {
  int device = 0;
  checkCuda(cudaGetDevice(&device), "cudaGetDevice");
  int count = 0;
  checkCuda(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  return count;
}

// Dynamic shared memory a kernel may use without opting in to more (48 KiB on every CUDA GPU).
inline size_t sharedBytesPerBlock() { return 48 * 1024; }

// The block's dynamic shared memory (sized by the launch), 8-byte aligned.
template <typename V>
__device__ __forceinline__ V* dynamicShared() {
  extern __shared__ double seglossDynamicShared[];
  return reinterpret_cast<V*>(seglossDynamicShared);
}

}  // namespace segloss::cuda

#endif
