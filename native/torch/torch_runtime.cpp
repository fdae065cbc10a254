// Runtime facts about the loaded libtorch (torch_runtime.h).
#include "torch_runtime.h"

#include <dlfcn.h>

#include <climits>
#include <cstdlib>
#include <regex>
#include <stdexcept>

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

#ifdef SEGLOSS_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#ifndef SEGLOSS_TORCH_LIB_DIR
#error "SEGLOSS_TORCH_LIB_DIR (the libtorch lib folder) must be defined by the build"
#endif

namespace segloss::torch_ops {
namespace {

std::string realPath(const std::string& path) {
  char buffer[PATH_MAX];
  return ::realpath(path.c_str(), buffer) ? std::string(buffer) : path;
}

// Folder of the shared object that defines `symbol`.
std::string libraryDirOf(const void* symbol) {
  Dl_info info{};
  if (!::dladdr(symbol, &info) || !info.dli_fname) return "";
  const std::string file = realPath(info.dli_fname);
  return file.substr(0, file.find_last_of('/'));
}

// TORCH_VERSION=x.y.z from the loaded library's build settings ("" when absent).
std::string loadedVersion() {
  static const std::regex pattern("TORCH_VERSION=([0-9][0-9A-Za-z.+_-]*)");
  const std::string config = at::show_config();
  std::smatch match;
  return std::regex_search(config, match, pattern) ? match[1].str() : "";
}

std::string majorMinor(const std::string& version) {
  const size_t first = version.find('.');
  const size_t second = first == std::string::npos ? first : version.find('.', first + 1);
  return version.substr(0, second);
}

std::vector<std::string> cudaDeviceNames(int count) {
  std::vector<std::string> names;
#ifdef SEGLOSS_WITH_CUDA
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp properties{};
    names.emplace_back(cudaGetDeviceProperties(&properties, i) == cudaSuccess ? properties.name : "unknown");
  }
#else
  (void)count;
#endif
  return names;
}

}  // namespace

TorchRuntimeInfo torchRuntimeInfo() {
  TorchRuntimeInfo info;
  info.version = loadedVersion();
  info.builtAgainst = TORCH_VERSION;
  info.libraryDir = libraryDirOf(reinterpret_cast<const void*>(&at::show_config));
  info.builtLibraryDir = realPath(SEGLOSS_TORCH_LIB_DIR);
#ifdef SEGLOSS_WITH_CUDA
  info.cudaBuilt = true;
#endif
  const auto& hooks = at::detail::getCUDAHooks();
  info.cudaDevices = hooks.hasCUDA() ? hooks.getNumGPUs() : 0;
  info.cudaAvailable = info.cudaDevices > 0;
  info.deviceNames = cudaDeviceNames(info.cudaDevices);
  info.threads = at::get_num_threads();
  info.interopThreads = at::get_num_interop_threads();
  return info;
}

void checkLoadedLibtorch() {
  const std::string built = realPath(SEGLOSS_TORCH_LIB_DIR);
  const std::string torchDir = libraryDirOf(reinterpret_cast<const void*>(&at::show_config));
  const std::string c10Dir = libraryDirOf(reinterpret_cast<const void*>(&c10::GetCPUAllocator));
  const std::string version = loadedVersion();
  std::string problem;
  if (torchDir != built || c10Dir != built) {
    problem = "it loaded libtorch from " + torchDir + " and c10 from " + c10Dir;
  } else if (!version.empty() && majorMinor(version) != majorMinor(TORCH_VERSION)) {
    problem = "it loaded libtorch " + version;
  }
  if (problem.empty()) return;
  throw std::runtime_error("segloss: the torch addon was built against libtorch " + std::string(TORCH_VERSION) +
                           " in " + built + ", but " + problem +
                           ". Rebuild it against the libtorch you use (`npm rebuild segloss` or `npm run build:torch`) " +
                           "and do not point LD_LIBRARY_PATH at another libtorch.");
}

}  // namespace segloss::torch_ops
