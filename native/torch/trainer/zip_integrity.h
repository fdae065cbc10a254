// The integrity of torch.save files: a zip archive (PyTorch's stream writer stores each record
// uncompressed with its CRC-32 in the central directory). libtorch's reader does not check the
// CRCs, so a corrupted tensor would load silently; checkZipIntegrity checks every stored record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace segloss::trainer {

/// CRC-32 (IEEE 802.3, as zip) of `size` bytes.
uint32_t crc32(const unsigned char* data, size_t size);

/// Throws std::runtime_error naming `path` unless `bytes` is a whole zip archive (ZIP64 included)
/// whose every stored (uncompressed) record matches the CRC-32 of its central-directory entry.
/// Compressed records (which PyTorch does not write) are not decompressed and not checked.
void checkZipIntegrity(const unsigned char* bytes, size_t size, const std::string& path);

}  // namespace segloss::trainer
