// numpy .npz archives (np.savez: a zip of .npy files, stored without compression, zip64 fields
// as numpy writes them) read into CPU tensors, for pretrained weights such as the published
// R50+ViT-B_16.npz.
#pragma once

#include <map>
#include <string>

#include <ATen/ATen.h>

namespace segloss::models {

/// {name without ".npy": tensor} for every array in the archive. Little-endian float16 / float32 /
/// float64 / int32 / int64 arrays in C or Fortran order. Throws std::runtime_error naming the file
/// (and the entry) when it is not such an archive, or uses compression (np.savez_compressed).
std::map<std::string, at::Tensor> readNpz(const std::string& path);

}  // namespace segloss::models
