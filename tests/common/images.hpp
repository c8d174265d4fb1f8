// Helpers shared by the image tests: files, tiny encoders for making test inputs, diffs.
// The encoders use libjpeg and zlib directly (the library links both); they only produce
// inputs, the outputs are always judged against PIL or fixed expectations.
#pragma once

#include <jpeglib.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "image/image.hpp"

namespace vitrt::test {

inline std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

inline void write_bytes(const std::string& path, const uint8_t* data, size_t n) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(data), std::streamsize(n));
    if (!f) throw std::runtime_error("cannot write " + path);
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& v) {
    write_bytes(path, v.data(), v.size());
}

// Largest |a - b| over two images of the same size; 256 when the sizes differ.
inline int max_abs_diff(const image::RgbImage& a, const image::RgbImage& b) {
    if (a.width != b.width || a.height != b.height || a.pixels.size() != b.pixels.size())
        return 256;
    int m = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i)
        m = std::max(m, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
    return m;
}

// A smooth pattern with some noise, so encoders and resamplers see photo-like data.
inline std::vector<uint8_t> pattern(int w, int h, int channels, uint32_t seed = 1) {
    std::vector<uint8_t> px(size_t(w) * size_t(h) * size_t(channels));
    uint32_t s = seed;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < channels; ++c) {
                s = s * 1664525u + 1013904223u;
                const int v =
                    (x * (3 + c) * 255 / std::max(w, 1) + y * (5 - c) * 255 / std::max(h, 1)) %
                        256 +
                    int(s >> 28) - 8;
                px[(size_t(y) * size_t(w) + size_t(x)) * size_t(channels) + size_t(c)] =
                    uint8_t(std::clamp(v, 0, 255));
            }
    return px;
}

// Encodes with libjpeg: in_space JCS_RGB/JCS_GRAYSCALE/JCS_CMYK, stored as jpeg_space (e.g.
// JCS_YCCK for CMYK input, JCS_RGB for an untransformed RGB JPEG).
inline std::vector<uint8_t> encode_jpeg(const std::vector<uint8_t>& px, int w, int h,
                                        J_COLOR_SPACE in_space, J_COLOR_SPACE jpeg_space,
                                        bool adobe_marker, bool progressive = false) {
    jpeg_compress_struct c{};
    jpeg_error_mgr err{};
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char* buf = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buf, &size);
    const int comps = in_space == JCS_GRAYSCALE ? 1 : in_space == JCS_CMYK ? 4 : 3;
    c.image_width = JDIMENSION(w);
    c.image_height = JDIMENSION(h);
    c.input_components = comps;
    c.in_color_space = in_space;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, jpeg_space);
    c.write_Adobe_marker = adobe_marker ? TRUE : FALSE;
    jpeg_set_quality(&c, 90, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = const_cast<uint8_t*>(&px[size_t(c.next_scanline) * size_t(w) * comps]);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    std::vector<uint8_t> out(buf, buf + size);
    std::free(buf);
    jpeg_destroy_compress(&c);
    return out;
}

inline std::vector<uint8_t> encode_rgb_jpeg(int w, int h, uint32_t seed = 1) {
    return encode_jpeg(pattern(w, h, 3, seed), w, h, JCS_RGB, JCS_YCbCr, false);
}

inline void put_be32(std::vector<uint8_t>& v, uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) v.push_back(uint8_t(x >> s));
}

inline void png_chunk(std::vector<uint8_t>& out, const char* tag, const std::vector<uint8_t>& d) {
    put_be32(out, uint32_t(d.size()));
    const size_t start = out.size();
    out.insert(out.end(), tag, tag + 4);
    out.insert(out.end(), d.begin(), d.end());
    put_be32(out, uint32_t(crc32(0, &out[start], uInt(out.size() - start))));
}

// An 8-bit RGB PNG with an IHDR that may lie about the size (declared_w/h > 0).
inline std::vector<uint8_t> encode_rgb_png(int w, int h, uint32_t seed = 1, uint32_t declared_w = 0,
                                           uint32_t declared_h = 0) {
    const std::vector<uint8_t> px = pattern(w, h, 3, seed);
    std::vector<uint8_t> raw;
    for (int y = 0; y < h; ++y) {
        raw.push_back(0);  // filter: none
        raw.insert(raw.end(), px.begin() + y * w * 3, px.begin() + (y + 1) * w * 3);
    }
    uLongf zsize = compressBound(uLong(raw.size()));
    std::vector<uint8_t> z(zsize);
    compress2(z.data(), &zsize, raw.data(), uLong(raw.size()), 9);
    z.resize(zsize);
    std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::vector<uint8_t> ihdr;
    put_be32(ihdr, declared_w ? declared_w : uint32_t(w));
    put_be32(ihdr, declared_h ? declared_h : uint32_t(h));
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
    png_chunk(out, "IHDR", ihdr);
    png_chunk(out, "IDAT", z);
    png_chunk(out, "IEND", {});
    return out;
}

}  // namespace vitrt::test
