// ZIP reader for npz checkpoints. Record layouts follow PKWARE's APPNOTE.TXT (sections 4.3.7
// local header, 4.3.12 central directory header, 4.3.14-16 end records, 4.5.3 ZIP64 extra).
#include "io/zip_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "io/byte_utils.hpp"
#include "vitrt/error.hpp"

namespace vitrt::io {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22;
constexpr size_t kZip64EndSize = 56, kZip64LocatorSize = 20;

// A real checkpoint member is well below this; anything above is treated as a lie.
constexpr uint64_t kMaxMemberBytes = 16ull << 30;
// Deflate cannot expand beyond ~1032:1 (258-byte matches coded in 2 bits); a declared size
// beyond that ratio cannot be honest, and is refused before its buffer is allocated.
constexpr uint64_t kMaxDeflateRatio = 1032;

// The whole archive: what its members may inflate to in total. Members may not overlap (an
// "overlapping" zip bomb reuses one compressed kernel for many members: 42 kB -> 5 GB), so with
// the per-member ratio above the total is at most ~1032 x the file. A real checkpoint is float
// data that deflate barely shrinks (~1.1:1), so the total is capped much lower: 64 x the file
// size, with a 256 MiB floor for small archives of constant arrays, and 64 GiB in all (ViT-e,
// 3.9 B parameters, is 16 GB in f32). A bomb is refused before any member is inflated.
constexpr uint64_t kMaxArchiveRatio = 64;
constexpr uint64_t kMinArchiveCap = 256ull << 20;
constexpr uint64_t kMaxArchiveBytes = 64ull << 30;

// Chunk for zlib's 32-bit avail_in/avail_out counters.
constexpr size_t kZlibChunk = size_t(1) << 30;

}  // namespace

bool looks_like_zip(const uint8_t* p, size_t n) {
    return n >= 4 && (rd32(p) == kLocalSig || rd32(p) == kEndSig);
}

ZipReader::ZipReader(const std::string& path) : path_(path), file_(MappedFile::open(path)) {
    read_central_directory();
}

void ZipReader::read_central_directory() {
    const uint8_t* d = file_->data();
    const uint64_t size = file_->size();
    const std::string& P = path_;
    check(size >= kEndSize,
          P + ": " + std::to_string(size) + " bytes is too short for a zip/npz archive; truncated?");

    // The end record sits before an optional comment of up to 65535 bytes; search backwards so
    // a signature inside the comment cannot win over the real record.
    uint64_t end_pos = UINT64_MAX;
    const uint64_t lowest = size - kEndSize > 0xffff ? size - kEndSize - 0xffff : 0;
    for (uint64_t pos = size - kEndSize + 1; pos-- > lowest;) {
        if (rd32(d + pos) == kEndSig && pos + kEndSize + rd16(d + pos + 20) <= size) {
            end_pos = pos;
            break;
        }
    }
    check(end_pos != UINT64_MAX,
          P + ": no zip end-of-central-directory record; not an npz/zip file, or truncated");
    const uint8_t* e = d + end_pos;
    uint64_t disk = rd16(e + 4), cd_disk = rd16(e + 6);
    uint64_t count = rd16(e + 10);
    uint64_t cd_size = rd32(e + 12), cd_offset = rd32(e + 16);
    uint64_t cd_limit = end_pos;  // the central directory must end before the end records

    // ZIP64: a locator right before the end record points to the 64-bit end record, whose
    // fields replace the 16/32-bit ones (which are then 0xffff/0xffffffff).
    if (end_pos >= kZip64LocatorSize && rd32(e - kZip64LocatorSize) == kZip64LocatorSig) {
        const uint8_t* loc = e - kZip64LocatorSize;
        const uint64_t rec = rd64(loc + 8);
        check(rd32(loc + 4) == 0 && rd32(loc + 16) <= 1,
              P + ": multi-disk (split) zip archives are not supported");
        check(rec <= end_pos - kZip64LocatorSize &&
                  end_pos - kZip64LocatorSize - rec >= kZip64EndSize,
              P + ": zip64 end record offset " + std::to_string(rec) + " is out of range; corrupt");
        const uint8_t* z = d + rec;
        check(rd32(z) == kZip64EndSig, P + ": zip64 end record signature missing; corrupt");
        disk = rd32(z + 16);
        cd_disk = rd32(z + 20);
        count = rd64(z + 32);
        cd_size = rd64(z + 40);
        cd_offset = rd64(z + 48);
        cd_limit = rec;
    }
    check(disk == 0 && cd_disk == 0, P + ": multi-disk (split) zip archives are not supported");
    check(cd_offset <= cd_limit && cd_size <= cd_limit - cd_offset,
          P + ": central directory [" + std::to_string(cd_offset) + ", +" +
              std::to_string(cd_size) + ") lies outside the archive; truncated or corrupt");
    check(count <= cd_size / kCentralSize,
          P + ": " + std::to_string(count) + " entries cannot fit in a " +
              std::to_string(cd_size) + "-byte central directory; corrupt");

    entries_.reserve(size_t(count));
    std::set<std::string> names;
    uint64_t pos = cd_offset;
    const uint64_t cd_end = cd_offset + cd_size;
    for (uint64_t i = 0; i < count; ++i) {
        const std::string where = P + ": central directory entry " + std::to_string(i);
        check(cd_end - pos >= kCentralSize && rd32(d + pos) == kCentralSig,
              where + ": bad signature or truncated; corrupt archive");
        const uint8_t* c = d + pos;
        const uint64_t name_len = rd16(c + 28), extra_len = rd16(c + 30), comment_len = rd16(c + 32);
        check(cd_end - pos - kCentralSize >= name_len + extra_len + comment_len,
              where + ": name/extra fields run past the central directory; corrupt");
        ZipEntry z;
        z.flags = rd16(c + 8);
        z.method = rd16(c + 10);
        z.crc32 = rd32(c + 16);
        z.compressed_size = rd32(c + 20);
        z.uncompressed_size = rd32(c + 24);
        z.local_header_offset = rd32(c + 42);
        uint32_t start_disk = rd16(c + 34);
        z.name.assign(reinterpret_cast<const char*>(c + kCentralSize), size_t(name_len));

        // ZIP64 extra (id 1): only the fields saturated in the fixed header are present, in
        // this order.
        const uint8_t* x = c + kCentralSize + name_len;
        const uint8_t* x_end = x + extra_len;
        while (x_end - x >= 4) {
            const uint16_t id = rd16(x), len = rd16(x + 2);
            check(uint64_t(x_end - x - 4) >= len, P + ": member '" + z.name +
                                                      "': extra field runs past its header; corrupt");
            if (id == 0x0001) {
                const uint8_t* f = x + 4;
                const uint8_t* f_end = f + len;
                auto take = [&](uint64_t* v, size_t width) {
                    check(size_t(f_end - f) >= width,
                          P + ": member '" + z.name + "': zip64 extra field too short; corrupt");
                    *v = width == 8 ? rd64(f) : rd32(f);
                    f += width;
                };
                if (z.uncompressed_size == 0xffffffff) take(&z.uncompressed_size, 8);
                if (z.compressed_size == 0xffffffff) take(&z.compressed_size, 8);
                if (z.local_header_offset == 0xffffffff) take(&z.local_header_offset, 8);
                if (start_disk == 0xffff) {
                    uint64_t sd = 0;
                    take(&sd, 4);
                    start_disk = uint32_t(sd);
                }
            }
            x += 4 + len;
        }
        check(start_disk == 0, P + ": member '" + z.name + "' is on another disk; split archives "
                                                         "are not supported");
        check(names.insert(z.name).second, P + ": member '" + z.name + "' appears twice");
        entries_.push_back(std::move(z));
        pos += kCentralSize + name_len + extra_len + comment_len;
    }

    // No two members may share bytes: each one's local header, name and data come before the next
    // one's local header (a lower bound: the local extra field may add more).
    std::vector<const ZipEntry*> by_offset;
    for (const ZipEntry& z : entries_) by_offset.push_back(&z);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const ZipEntry* a, const ZipEntry* b) { return a->local_header_offset < b->local_header_offset; });
    for (size_t i = 0; i + 1 < by_offset.size(); ++i) {
        const ZipEntry& a = *by_offset[i];
        uint64_t end = 0;
        const bool fits = add_ok(a.local_header_offset, kLocalSize + a.name.size(), &end) &&
                          add_ok(end, a.compressed_size, &end);
        check(fits && end <= by_offset[i + 1]->local_header_offset,
              P + ": members '" + a.name + "' and '" + by_offset[i + 1]->name +
                  "' overlap in the archive; corrupt, or a zip bomb");
    }
    // Members that are impossible on their own are left to read(), which names the problem.
    uint64_t total = 0;
    for (const ZipEntry& z : entries_) {
        const bool plausible = z.method == 0 ? z.uncompressed_size == z.compressed_size
                                             : z.uncompressed_size <= kMaxMemberBytes &&
                                                   z.uncompressed_size <= z.compressed_size * kMaxDeflateRatio + 1024;
        if (plausible && !add_ok(total, z.uncompressed_size, &total)) total = UINT64_MAX;
    }
    const uint64_t cap = std::min(kMaxArchiveBytes, std::max(kMinArchiveCap, size * kMaxArchiveRatio));
    check(total <= cap, P + ": members declare " + std::to_string(total) + " bytes in all, from a " +
                            std::to_string(size) + "-byte file; more than a checkpoint can hold (limit " +
                            std::to_string(cap) + " bytes: " + std::to_string(kMaxArchiveRatio) +
                            " x the file size, at most 64 GiB); corrupt, or a zip bomb");
}

ZipData ZipReader::read(const ZipEntry& z) const {
    const uint8_t* d = file_->data();
    const uint64_t size = file_->size();
    const std::string where = path_ + ": member '" + z.name + "'";
    check(!(z.flags & 0x1), where + " is encrypted; encrypted archives are not supported");
    check(z.method == 0 || z.method == 8,
          where + ": compression method " + std::to_string(z.method) +
              " is not supported (only stored and deflate, as numpy.savez/savez_compressed "
              "write); re-save the archive with numpy");

    const uint64_t off = z.local_header_offset;
    check(off <= size && size - off >= kLocalSize,
          where + ": local header offset " + std::to_string(off) + " is beyond the " +
              std::to_string(size) + "-byte file; truncated or corrupt");
    const uint8_t* h = d + off;
    check(rd32(h) == kLocalSig,
          where + ": no local header at offset " + std::to_string(off) + "; corrupt archive");
    const uint64_t name_len = rd16(h + 26), extra_len = rd16(h + 28);
    const uint64_t data_off = off + kLocalSize + name_len + extra_len;
    check(data_off <= size, where + ": local header runs past the end of the file; truncated?");
    check(name_len == z.name.size() && std::memcmp(h + kLocalSize, z.name.data(), name_len) == 0,
          where + ": local header names a different member; corrupt archive");
    check(z.compressed_size <= size - data_off,
          where + ": " + std::to_string(z.compressed_size) + " bytes of data at offset " +
              std::to_string(data_off) + " run past the end of the file; truncated?");
    const uint8_t* src = d + data_off;

    ZipData out;
    if (z.method == 0) {
        check(z.compressed_size == z.uncompressed_size,
              where + ": stored member with different compressed and uncompressed sizes; corrupt");
        out.data = src;
        out.size = size_t(z.compressed_size);
        out.owner = file_;
        out.in_mapping = true;
    } else {
        const uint64_t n = z.uncompressed_size;
        check(n <= kMaxMemberBytes, where + ": declared size " + std::to_string(n) +
                                        " bytes exceeds the 16 GiB limit for one member");
        check(n <= z.compressed_size * kMaxDeflateRatio + 1024,
              where + ": declared size " + std::to_string(n) + " is impossible for " +
                  std::to_string(z.compressed_size) + " bytes of deflate data; corrupt");
        OwnedBuffer buf = alloc_buffer(size_t(n), where);

        z_stream zs{};
        check(inflateInit2(&zs, -MAX_WBITS) == Z_OK, where + ": zlib initialisation failed");
        // Feed input and output in chunks: zlib's counters are 32-bit.
        uint64_t in_left = z.compressed_size, out_left = n;
        const uint8_t* in_next = src;
        uint8_t* out_next = buf.data;
        uint8_t scratch = 0;
        std::string failure;
        for (;;) {
            if (zs.avail_in == 0 && in_left > 0) {
                const size_t c = size_t(std::min<uint64_t>(in_left, kZlibChunk));
                zs.next_in = const_cast<Bytef*>(in_next);
                zs.avail_in = uInt(c);
                in_next += c;
                in_left -= c;
            }
            bool probing = false;
            if (zs.avail_out == 0) {
                if (out_left > 0) {
                    const size_t c = size_t(std::min<uint64_t>(out_left, kZlibChunk));
                    zs.next_out = out_next;
                    zs.avail_out = uInt(c);
                    out_next += c;
                    out_left -= c;
                } else {
                    // Output is full: a one-byte probe tells a finished stream from one that
                    // would produce more than it declared.
                    zs.next_out = &scratch;
                    zs.avail_out = 1;
                    probing = true;
                }
            }
            const int ret = inflate(&zs, Z_NO_FLUSH);
            if (probing && zs.avail_out == 0) {
                failure = "inflates to more than its declared " + std::to_string(n) + " bytes";
                break;
            }
            if (ret == Z_STREAM_END) break;
            if (ret == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0) {
                failure = "deflate data ends early; truncated";
                break;
            }
            if (ret != Z_OK && ret != Z_BUF_ERROR) {
                failure = std::string("corrupt deflate data (") + (zs.msg ? zs.msg : "zlib error") +
                          ")";
                break;
            }
        }
        const uint64_t produced = zs.total_out;
        inflateEnd(&zs);
        check(failure.empty(), where + ": " + failure);
        check(produced == n, where + ": inflated to " + std::to_string(produced) +
                                 " bytes, but the directory declares " + std::to_string(n));
        out.data = buf.data;
        out.size = size_t(n);
        out.owner = buf.owner;
    }

    uLong crc = crc32_z(0L, Z_NULL, 0);
    crc = crc32_z(crc, out.data, out.size);
    check(uint32_t(crc) == z.crc32, where + ": CRC-32 mismatch; the archive is corrupt");
    return out;
}

}  // namespace vitrt::io
