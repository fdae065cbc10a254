// CRC checks of torch.save zip archives (zip_integrity.h). Layout: PKWARE APPNOTE 6.3 §4.3
// (local headers, central directory, end of central directory, the ZIP64 records and extra field).
#include "zip_integrity.h"

#include <array>
#include <stdexcept>

namespace segloss::trainer {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64EndOfDirectory = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint32_t kMarker32 = 0xffffffffu;
constexpr uint16_t kMarker16 = 0xffffu;

// Slice-by-8 tables of the reflected polynomial 0xEDB88320.
std::array<std::array<uint32_t, 256>, 8> makeCrcTables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
  return t;
}

const std::array<std::array<uint32_t, 256>, 8>& crcTables() {
  static const auto tables = makeCrcTables();
  return tables;
}

// Little-endian readers that never read past `size` (the caller checks the range).
class ByteView {
 public:
  ByteView(const unsigned char* bytes, size_t size, const std::string& path) : bytes_(bytes), size_(size), path_(path) {}

  uint16_t u16(uint64_t at) const {
    require(at, 2);
    return static_cast<uint16_t>(bytes_[at] | (bytes_[at + 1] << 8));
  }
  uint32_t u32(uint64_t at) const {
    require(at, 4);
    return static_cast<uint32_t>(bytes_[at]) | (static_cast<uint32_t>(bytes_[at + 1]) << 8) |
           (static_cast<uint32_t>(bytes_[at + 2]) << 16) | (static_cast<uint32_t>(bytes_[at + 3]) << 24);
  }
  uint64_t u64(uint64_t at) const { return static_cast<uint64_t>(u32(at)) | (static_cast<uint64_t>(u32(at + 4)) << 32); }
  std::string text(uint64_t at, uint64_t length) const {
    require(at, length);
    return std::string(reinterpret_cast<const char*>(bytes_ + at), static_cast<size_t>(length));
  }
  const unsigned char* at(uint64_t offset, uint64_t length) const {
    require(offset, length);
    return bytes_ + offset;
  }
  size_t size() const { return size_; }

  [[noreturn]] void damaged(const std::string& what) const {
    throw std::runtime_error("segloss: " + path_ + " is damaged (truncated or corrupted): " + what);
  }

 private:
  void require(uint64_t at, uint64_t length) const {
    if (at > size_ || length > size_ - at) damaged("a zip structure points past the end of the file");
  }
  const unsigned char* bytes_;
  size_t size_;
  const std::string& path_;
};

struct Directory {
  uint64_t offset = 0;   // of the first central header
  uint64_t entries = 0;  // central headers
};

// The end-of-central-directory record: the last signature within the final 64 KiB + 22 bytes.
Directory findDirectory(const ByteView& view) {
  if (view.size() < 22) view.damaged("too short to be a zip archive");
  const uint64_t lowest = view.size() > 65557 ? view.size() - 65557 : 0;
  for (uint64_t at = view.size() - 22;; --at) {
    if (view.u32(at) == kEndOfDirectory) {
      Directory d{view.u32(at + 16), view.u16(at + 10)};
      const bool zip64 = d.offset == kMarker32 || d.entries == kMarker16;
      if (zip64) {
        if (at < 20 || view.u32(at - 20) != kZip64Locator) view.damaged("the ZIP64 locator is missing");
        const uint64_t record = view.u64(at - 20 + 8);
        if (view.u32(record) != kZip64EndOfDirectory) view.damaged("the ZIP64 end of directory is missing");
        d.entries = view.u64(record + 32);
        d.offset = view.u64(record + 48);
      }
      return d;
    }
    if (at == lowest) break;
  }
  view.damaged("no end of central directory (the end of the file is missing)");
}

struct Entry {
  std::string name;
  uint32_t crc = 0;
  uint16_t method = 0;
  uint64_t compressedSize = 0;
  uint64_t localOffset = 0;
  uint64_t next = 0;  // offset of the next central header
};

Entry readEntry(const ByteView& view, uint64_t at) {
  if (view.u32(at) != kCentralHeader) view.damaged("a central directory entry is broken");
  Entry e;
  e.method = view.u16(at + 10);
  e.crc = view.u32(at + 16);
  e.compressedSize = view.u32(at + 20);
  uint64_t uncompressed = view.u32(at + 24);
  const uint16_t nameLength = view.u16(at + 28), extraLength = view.u16(at + 30), commentLength = view.u16(at + 32);
  e.localOffset = view.u32(at + 42);
  e.name = view.text(at + 46, nameLength);
  // ZIP64 extended information: the 8-byte values of the fields that hold the marker, in order.
  const uint64_t extraEnd = at + 46 + nameLength + extraLength;
  for (uint64_t x = at + 46 + nameLength; x + 4 <= extraEnd;) {
    const uint16_t id = view.u16(x), length = view.u16(x + 2);
    if (id == kZip64ExtraId) {
      uint64_t field = x + 4;
      if (uncompressed == kMarker32) uncompressed = view.u64(field), field += 8;
      if (e.compressedSize == kMarker32) e.compressedSize = view.u64(field), field += 8;
      if (e.localOffset == kMarker32) e.localOffset = view.u64(field);
    }
    x += 4 + static_cast<uint64_t>(length);
  }
  if (e.method == 0 && uncompressed != e.compressedSize) view.damaged("record '" + e.name + "' has inconsistent sizes");
  e.next = extraEnd + commentLength;
  return e;
}

// The record's data: after its local header, whose own name and extra lengths may differ.
const unsigned char* recordData(const ByteView& view, const Entry& e) {
  if (view.u32(e.localOffset) != kLocalHeader) view.damaged("the local header of record '" + e.name + "' is broken");
  const uint64_t data = e.localOffset + 30 + view.u16(e.localOffset + 26) + view.u16(e.localOffset + 28);
  return view.at(data, e.compressedSize);
}

}  // namespace

uint32_t crc32(const unsigned char* data, size_t size) {
  const auto& t = crcTables();
  uint32_t c = 0xffffffffu;
  while (size >= 8) {
    const uint32_t lo = c ^ (static_cast<uint32_t>(data[0]) | (static_cast<uint32_t>(data[1]) << 8) |
                             (static_cast<uint32_t>(data[2]) << 16) | (static_cast<uint32_t>(data[3]) << 24));
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][data[4]] ^
        t[2][data[5]] ^ t[1][data[6]] ^ t[0][data[7]];
    data += 8;
    size -= 8;
  }
  while (size--) c = t[0][(c ^ *data++) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

void checkZipIntegrity(const unsigned char* bytes, size_t size, const std::string& path) {
  const ByteView view(bytes, size, path);
  const Directory directory = findDirectory(view);
  uint64_t at = directory.offset;
  for (uint64_t k = 0; k < directory.entries; ++k) {
    const Entry e = readEntry(view, at);
    if (e.method == 0 && crc32(recordData(view, e), static_cast<size_t>(e.compressedSize)) != e.crc) {
      view.damaged("record '" + e.name + "' fails its CRC-32 check");
    }
    at = e.next;
  }
}

}  // namespace segloss::trainer
