// Checkpoint files: an IValue (a dict) in the zip + pickle format of Python's torch.save, so
// `torch.load(path, weights_only=False)` reads it, written atomically; and the reverse, which also
// reads files written by torch.save (a dict, or a plain dict of tensors).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>

namespace segloss::trainer {

/// Writes `value` to `path` as torch.save would: to a temporary file next to it, fsync, rename over
/// `path`, fsync the folder. A reader never sees a half-written file. Throws std::runtime_error
/// with the path and errno text.
void saveIValue(const std::string& path, const c10::IValue& value);

/// Reads a file written by saveIValue or by Python's torch.save, after checking the CRC-32 of
/// every record (zip_integrity.h). Throws std::runtime_error naming the file.
c10::IValue loadIValue(const std::string& path);

/// {name: tensor} as a dict of CPU tensors (detached copies), in the given order.
c10::IValue tensorDict(const std::vector<std::pair<std::string, at::Tensor>>& entries);

/// The reverse of tensorDict. Throws std::invalid_argument when `value` is not a dict of tensors.
std::vector<std::pair<std::string, at::Tensor>> tensorEntries(const c10::IValue& value);

}  // namespace segloss::trainer
