// A read-only ZIP archive reader for npz checkpoints, over a memory-mapped file.
//
// Supports what numpy (Python's zipfile) writes and what other tools commonly produce: stored
// (method 0) and deflated (method 8) members, ZIP64 end records and extra fields, data
// descriptors (sizes come from the central directory). Not supported, and reported as errors:
// encryption, multi-disk archives, other compression methods.
//
// The archive is untrusted: every offset and size is checked against the file before use,
// CRC-32 is verified, and a deflated member must inflate to exactly its declared size, which is
// itself capped (16 GiB, and deflate's maximum ratio of its compressed size) before anything is
// allocated, so a decompression bomb costs at most what it declares honestly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/mmap_file.hpp"

namespace vitrt::io {

struct ZipEntry {
    std::string name;
    uint16_t method = 0;
    uint16_t flags = 0;
    uint32_t crc32 = 0;
    uint64_t compressed_size = 0;
    uint64_t uncompressed_size = 0;
    uint64_t local_header_offset = 0;
};

// Bytes of one member: a view into the mapping (stored members) or an owned buffer (inflated).
struct ZipData {
    const uint8_t* data = nullptr;
    size_t size = 0;
    std::shared_ptr<void> owner;  // keeps `data` alive: the MappedFile or the buffer
    bool in_mapping = false;      // true when `data` points into the archive's mapping
};

class ZipReader {
public:
    // Maps the file and reads the central directory; throws vitrt::Error on any inconsistency.
    explicit ZipReader(const std::string& path);

    const std::vector<ZipEntry>& entries() const { return entries_; }
    // The member's bytes, CRC-checked. Throws vitrt::Error naming the archive and the member.
    ZipData read(const ZipEntry& e) const;

    const std::string& path() const { return path_; }

private:
    void read_central_directory();
    std::string path_;
    std::shared_ptr<MappedFile> file_;
    std::vector<ZipEntry> entries_;
};

// True when the first bytes look like a ZIP archive ("PK\3\4" or an empty archive's "PK\5\6").
bool looks_like_zip(const uint8_t* p, size_t n);

}  // namespace vitrt::io
