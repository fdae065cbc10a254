// .npz reading (npz.h): the zip central directory, then each stored .npy entry.
#include "npz.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace segloss::models {
namespace {

struct Bytes {
  const std::vector<char>& data;
  const std::string& path;

  void need(uint64_t offset, uint64_t size) const {
    if (offset > data.size() || size > data.size() - offset) throw std::runtime_error("segloss: " + path + " is truncated (not an .npz)");
  }
  uint64_t u(uint64_t offset, int bytes) const {
    need(offset, static_cast<uint64_t>(bytes));
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(data[offset + i]);
    return v;
  }
};

struct Entry {
  std::string name;
  uint64_t method = 0, compressed = 0, size = 0, localHeader = 0;
};

// The zip64 extra field (0x0001) replaces each 32-bit field that holds 0xFFFFFFFF, in order.
void applyZip64(const Bytes& b, uint64_t extra, uint64_t extraLength, Entry& e, bool sizes32Max, bool csize32Max,
                bool offset32Max) {
  for (uint64_t at = extra; at + 4 <= extra + extraLength;) {
    const uint64_t id = b.u(at, 2), length = b.u(at + 2, 2);
    if (id == 0x0001) {
      uint64_t field = at + 4;
      if (sizes32Max) e.size = b.u(field, 8), field += 8;
      if (csize32Max) e.compressed = b.u(field, 8), field += 8;
      if (offset32Max) e.localHeader = b.u(field, 8);
      return;
    }
    at += 4 + length;
  }
}

std::vector<Entry> centralDirectory(const Bytes& b) {
  const uint64_t n = b.data.size();
  if (n < 22) throw std::runtime_error("segloss: " + b.path + " is not a zip (.npz) file");
  uint64_t end = n - 22;
  while (end > 0 && b.u(end, 4) != 0x06054b50) --end;
  if (b.u(end, 4) != 0x06054b50) throw std::runtime_error("segloss: " + b.path + " is not a zip (.npz) file");
  uint64_t count = b.u(end + 10, 2), offset = b.u(end + 16, 4);
  if ((count == 0xFFFF || offset == 0xFFFFFFFF) && end >= 20 && b.u(end - 20, 4) == 0x07064b50) {
    const uint64_t record = b.u(end - 20 + 8, 8);  // the zip64 end of central directory record
    count = b.u(record + 32, 8);
    offset = b.u(record + 48, 8);
  }
  std::vector<Entry> entries;
  for (uint64_t i = 0, at = offset; i < count; ++i) {
    if (b.u(at, 4) != 0x02014b50) throw std::runtime_error("segloss: " + b.path + " has a broken zip directory");
    Entry e;
    e.method = b.u(at + 10, 2);
    e.compressed = b.u(at + 20, 4);
    e.size = b.u(at + 24, 4);
    const uint64_t nameLength = b.u(at + 28, 2), extraLength = b.u(at + 30, 2), commentLength = b.u(at + 32, 2);
    e.localHeader = b.u(at + 42, 4);
    b.need(at + 46, nameLength);
    e.name.assign(b.data.data() + at + 46, nameLength);
    applyZip64(b, at + 46 + nameLength, extraLength, e, e.size == 0xFFFFFFFF, e.compressed == 0xFFFFFFFF,
               e.localHeader == 0xFFFFFFFF);
    entries.push_back(e);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

// The value of `key` in the .npy header dict ("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }").
std::string headerField(const std::string& header, const std::string& key) {
  const size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) throw std::runtime_error("no '" + key + "'");
  size_t start = header.find(':', at) + 1;
  while (start < header.size() && header[start] == ' ') ++start;
  if (header[start] == '(') return header.substr(start + 1, header.find(')', start) - start - 1);
  if (header[start] == '\'') return header.substr(start + 1, header.find('\'', start + 1) - start - 1);
  return header.substr(start, header.find_first_of(",}", start) - start);
}

at::ScalarType dtypeOf(const std::string& descr) {
  if (descr == "<f4") return at::kFloat;
  if (descr == "<f8") return at::kDouble;
  if (descr == "<f2") return at::kHalf;
  if (descr == "<i4") return at::kInt;
  if (descr == "<i8") return at::kLong;
  throw std::runtime_error("unsupported dtype '" + descr + "'");
}

at::Tensor parseNpy(const char* data, uint64_t size) {
  if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0) throw std::runtime_error("not an .npy array");
  const int major = static_cast<unsigned char>(data[6]);
  const uint64_t lengthBytes = major == 1 ? 2 : 4;
  uint64_t headerLength = 0;
  for (uint64_t i = lengthBytes; i-- > 0;) headerLength = (headerLength << 8) | static_cast<unsigned char>(data[8 + i]);
  const uint64_t start = 8 + lengthBytes + headerLength;
  if (start > size) throw std::runtime_error("truncated .npy header");
  const std::string header(data + 8 + lengthBytes, headerLength);
  const at::ScalarType dtype = dtypeOf(headerField(header, "descr"));
  const bool fortran = headerField(header, "fortran_order") == "True";
  std::vector<int64_t> shape;
  const std::string dims = headerField(header, "shape");
  for (size_t at = 0; at < dims.size();) {
    const size_t comma = dims.find(',', at);
    const std::string item = dims.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (item.find_first_of("0123456789") != std::string::npos) shape.push_back(std::stoll(item));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  int64_t count = 1;
  for (const int64_t d : shape) count *= d;
  const uint64_t bytes = static_cast<uint64_t>(count) * at::elementSize(dtype);
  if (start + bytes > size) throw std::runtime_error("truncated .npy data");
  std::vector<int64_t> stored(shape.rbegin(), shape.rend());
  at::Tensor t = at::from_blob(const_cast<char*>(data + start), fortran ? stored : shape, dtype).clone();
  if (fortran && shape.size() > 1) {
    std::vector<int64_t> reverse;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) reverse.push_back(d);
    t = t.permute(reverse).contiguous();
  }
  return t;
}

}  // namespace

std::map<std::string, at::Tensor> readNpz(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("segloss: cannot open " + path);
  const std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Bytes b{data, path};
  std::map<std::string, at::Tensor> arrays;
  for (const Entry& e : centralDirectory(b)) {
    if (e.method != 0) {
      throw std::runtime_error("segloss: " + path + ": '" + e.name + "' is compressed; save the weights with np.savez (not savez_compressed)");
    }
    const uint64_t nameLength = b.u(e.localHeader + 26, 2), extraLength = b.u(e.localHeader + 28, 2);
    const uint64_t start = e.localHeader + 30 + nameLength + extraLength;
    b.need(start, e.size);
    std::string name = e.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    try {
      arrays.emplace(name, parseNpy(data.data() + start, e.size));
    } catch (const std::exception& error) {
      throw std::runtime_error("segloss: " + path + ": '" + e.name + "': " + error.what());
    }
  }
  return arrays;
}

}  // namespace segloss::models
