// Checkpoint files (checkpoint.h).
#include "checkpoint.h"

#include "zip_integrity.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <ATen/core/Dict.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/pickler.h>

namespace segloss::trainer {
namespace {

std::runtime_error fileError(const std::string& what, const std::string& path) {
  return std::runtime_error("segloss: cannot " + what + " " + path + ": " + std::strerror(errno));
}

std::string folderOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void writeAll(int fd, const std::vector<char>& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw fileError("write", path);
    done += static_cast<size_t>(n);
  }
}

void syncFolder(const std::string& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some file systems do not open folders
  ::fsync(fd);
  ::close(fd);
}

std::string temporaryPath(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

// torch::jit::pickle_save without type tags on dicts and lists (tag_aggregates = false): the tags
// are calls of torch.jit._pickle.restore_type_tag, which torch.load(weights_only=True) refuses.
std::vector<char> torchSaveBytes(const c10::IValue& value) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler([&](const char* bytes, size_t size) { pickle.insert(pickle.end(), bytes, bytes + size); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
                              /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();
  std::vector<char> archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    const char* bytes = static_cast<const char*>(data);
    archive.insert(archive.end(), bytes, bytes + size);
    return size;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return archive;
}

}  // namespace

void saveIValue(const std::string& path, const c10::IValue& value) {
  const std::vector<char> bytes = torchSaveBytes(value);
  const std::string temporary = temporaryPath(path);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw fileError("create", temporary);
  try {
    writeAll(fd, bytes, temporary);
    if (::fsync(fd) != 0) throw fileError("fsync", temporary);
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(temporary.c_str());
    throw fileError("close", temporary);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const auto error = fileError("rename " + temporary + " to", path);
    ::unlink(temporary.c_str());
    throw error;
  }
  syncFolder(folderOf(path));
}

c10::IValue loadIValue(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fileError("open", path);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K') {
    checkZipIntegrity(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), path);
  }
  try {
    return torch::jit::pickle_load(bytes);
  } catch (const c10::Error& e) {
    // libtorch's unpickler reads collections.OrderedDict (what model.state_dict() returns) as None.
    static const std::string orderedDict = "ccollections\nOrderedDict\n";
    if (std::search(bytes.begin(), bytes.end(), orderedDict.begin(), orderedDict.end()) != bytes.end()) {
      throw std::runtime_error("segloss: " + path + " holds a collections.OrderedDict, which libtorch cannot read: " +
                               "save a plain dict instead, torch.save(dict(model.state_dict()), path)");
    }
    throw std::runtime_error("segloss: " + path + " is not a torch.save file: " + e.what_without_backtrace());
  }
}

c10::IValue tensorDict(const std::vector<std::pair<std::string, at::Tensor>>& entries) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : entries) dict.insert(name, tensor.detach().to(at::kCPU).clone());
  return dict;
}

std::vector<std::pair<std::string, at::Tensor>> tensorEntries(const c10::IValue& value) {
  if (!value.isGenericDict()) throw std::invalid_argument("the state dict is not a dict");
  std::vector<std::pair<std::string, at::Tensor>> entries;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor()) {
      throw std::invalid_argument("the state dict is not a dict of {name: tensor}");
    }
    entries.emplace_back(item.key().toStringRef(), item.value().toTensor());
  }
  return entries;
}

}  // namespace segloss::trainer
