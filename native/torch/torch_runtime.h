// What the running process sees of libtorch: the version loaded vs the one this addon was built
// against (they must match: two libtorch installs mixed in one process abort — NATIVE-NOTES.md),
// where it was loaded from, the CUDA devices and the CPU threads.
#pragma once

#include <string>
#include <vector>

namespace segloss::torch_ops {

struct TorchRuntimeInfo {
  std::string version;                   // loaded libtorch, from its build settings (e.g. "2.13.0")
  std::string builtAgainst;              // TORCH_VERSION of the headers this addon was compiled with
  std::string libraryDir;                // folder of the loaded libtorch_cpu
  std::string builtLibraryDir;           // folder baked into the RUNPATH at build time
  bool cudaBuilt = false;                // this addon has the CUDA engines
  bool cudaAvailable = false;            // the loaded libtorch has CUDA and sees a device
  int cudaDevices = 0;                   // number of CUDA devices libtorch sees
  std::vector<std::string> deviceNames;  // their names (only when cudaBuilt)
  int threads = 0;                       // at::get_num_threads()
  int interopThreads = 0;                // at::get_num_interop_threads()
};

TorchRuntimeInfo torchRuntimeInfo();

// Throws std::runtime_error, saying how to fix it, when the loaded libtorch (or c10) is not the
// one this addon was built against (other folder, or other major.minor version).
void checkLoadedLibtorch();

}  // namespace segloss::torch_ops
