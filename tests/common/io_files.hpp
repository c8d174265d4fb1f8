// Byte builders for the checkpoint reader tests: safetensors, .npy and ZIP archives written by
// hand, so malformed variants can be produced field by field without Python.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace vitrt::test::io {

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    if (!f) throw std::runtime_error("cannot write " + path);
}

inline std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + path);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

inline void put_le(std::string& s, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) s.push_back(char(uint8_t(v >> (8 * i))));
}

inline void set_le(std::string& s, size_t pos, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) s[pos + size_t(i)] = char(uint8_t(v >> (8 * i)));
}

template <class T>
std::string raw(const std::vector<T>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// u64 header length + header (optionally space-padded to 8) + data.
inline std::string safetensors_bytes(const std::string& header, const std::string& data,
                                     bool pad = true) {
    std::string h = header;
    if (pad) h.append((8 - h.size() % 8) % 8, ' ');
    std::string s;
    put_le(s, h.size(), 8);
    return s + h + data;
}

// A version 1.0 (or 2.0) .npy: magic, header dict, padding to 64 bytes, data.
inline std::string npy_bytes(const std::string& descr, const std::string& shape, bool fortran,
                             const std::string& data, int major = 1) {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': " +
                       (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
    const size_t prefix = major == 1 ? 10 : 12;
    size_t total = prefix + dict.size() + 1;
    dict.append((64 - total % 64) % 64, ' ');
    dict.push_back('\n');
    std::string s = "\x93NUMPY";
    s.push_back(char(major));
    s.push_back(0);
    put_le(s, dict.size(), major == 1 ? 2 : 4);
    return s + dict + data;
}

inline std::string raw_deflate(const std::string& in) {
    z_stream zs{};
    if (deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2");
    std::string out(deflateBound(&zs, uLong(in.size())) + 16, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = uInt(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = uInt(out.size());
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

struct ZipMember {
    std::string name;
    std::string data;  // uncompressed
    uint16_t method = 0;
    bool data_descriptor = false;  // flag bit 3: sizes/CRC after the data, zero in the header
};

struct ZipOptions {
    bool zip64 = false;  // zip64 extras (all fields saturated) and zip64 end records
    std::string comment;
    std::string prefix_padding;  // bytes before the first local header (shifts alignment)
};

// Byte offsets of interesting fields, for tests that corrupt them.
struct ZipLayout {
    std::vector<size_t> local_offsets, central_offsets;
    size_t central_dir_offset = 0, end_offset = 0;
};

inline std::string zip_bytes(const std::vector<ZipMember>& members, const ZipOptions& opt = {},
                             ZipLayout* layout = nullptr) {
    std::string out = opt.prefix_padding, cd;
    ZipLayout lay;
    for (const ZipMember& m : members) {
        const std::string payload = m.method == 8 ? raw_deflate(m.data) : m.data;
        const uint32_t crc = uint32_t(
            crc32(0, reinterpret_cast<const Bytef*>(m.data.data()), uInt(m.data.size())));
        const uint16_t flags = m.data_descriptor ? 0x8 : 0;
        const uint64_t offset = out.size();
        lay.local_offsets.push_back(out.size());
        std::string lh;
        put_le(lh, 0x04034b50, 4);
        put_le(lh, opt.zip64 ? 45 : 20, 2);
        put_le(lh, flags, 2);
        put_le(lh, m.method, 2);
        put_le(lh, 0, 4);  // time, date
        const bool dd = m.data_descriptor;
        put_le(lh, dd ? 0 : crc, 4);
        put_le(lh, dd ? 0 : (opt.zip64 ? 0xffffffff : payload.size()), 4);
        put_le(lh, dd ? 0 : (opt.zip64 ? 0xffffffff : m.data.size()), 4);
        put_le(lh, m.name.size(), 2);
        std::string lextra;
        if (opt.zip64) {
            put_le(lextra, 1, 2);
            put_le(lextra, 16, 2);
            put_le(lextra, dd ? 0 : m.data.size(), 8);
            put_le(lextra, dd ? 0 : payload.size(), 8);
        }
        put_le(lh, lextra.size(), 2);
        out += lh + m.name + lextra + payload;
        if (dd) {
            put_le(out, 0x08074b50, 4);
            put_le(out, crc, 4);
            put_le(out, payload.size(), opt.zip64 ? 8 : 4);
            put_le(out, m.data.size(), opt.zip64 ? 8 : 4);
        }

        lay.central_offsets.push_back(cd.size());  // relative; fixed up below
        put_le(cd, 0x02014b50, 4);
        put_le(cd, 0x031e, 2);  // made by: unix, 3.0
        put_le(cd, opt.zip64 ? 45 : 20, 2);
        put_le(cd, flags, 2);
        put_le(cd, m.method, 2);
        put_le(cd, 0, 4);
        put_le(cd, crc, 4);
        put_le(cd, opt.zip64 ? 0xffffffff : payload.size(), 4);
        put_le(cd, opt.zip64 ? 0xffffffff : m.data.size(), 4);
        put_le(cd, m.name.size(), 2);
        std::string cextra;
        if (opt.zip64) {
            put_le(cextra, 1, 2);
            put_le(cextra, 28, 2);
            put_le(cextra, m.data.size(), 8);
            put_le(cextra, payload.size(), 8);
            put_le(cextra, offset, 8);
            put_le(cextra, 0, 4);
        }
        put_le(cd, cextra.size(), 2);
        put_le(cd, 0, 2);                               // comment length
        put_le(cd, opt.zip64 ? 0xffff : 0, 2);          // disk start
        put_le(cd, 0, 2);                               // internal attributes
        put_le(cd, 0, 4);                               // external attributes
        put_le(cd, opt.zip64 ? 0xffffffff : offset, 4);  // local header offset
        cd += m.name + cextra;
    }
    const uint64_t cd_offset = out.size();
    lay.central_dir_offset = cd_offset;
    for (size_t& o : lay.central_offsets) o += cd_offset;
    out += cd;
    const uint64_t n = members.size();
    if (opt.zip64) {
        const uint64_t rec = out.size();
        put_le(out, 0x06064b50, 4);
        put_le(out, 44, 8);
        put_le(out, 45, 2);
        put_le(out, 45, 2);
        put_le(out, 0, 4);
        put_le(out, 0, 4);
        put_le(out, n, 8);
        put_le(out, n, 8);
        put_le(out, cd.size(), 8);
        put_le(out, cd_offset, 8);
        put_le(out, 0x07064b50, 4);
        put_le(out, 0, 4);
        put_le(out, rec, 8);
        put_le(out, 1, 4);
    }
    lay.end_offset = out.size();
    put_le(out, 0x06054b50, 4);
    put_le(out, 0, 2);
    put_le(out, 0, 2);
    put_le(out, opt.zip64 ? 0xffff : n, 2);
    put_le(out, opt.zip64 ? 0xffff : n, 2);
    put_le(out, opt.zip64 ? 0xffffffff : cd.size(), 4);
    put_le(out, opt.zip64 ? 0xffffffff : cd_offset, 4);
    put_le(out, opt.comment.size(), 2);
    out += opt.comment;
    if (layout) *layout = lay;
    return out;
}

}  // namespace vitrt::test::io
