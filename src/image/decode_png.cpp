// PNG decoding with the system libpng, converted to RGB the way Pillow 9.4 does it: PIL opens a
// PNG in the mode of PngImagePlugin._MODES and convert("RGB") then maps it:
//   gray 1-bit  "1"     -> 0 / 255
//   gray 2/4    "L;2/4" -> value * 85 / * 17 (bit replication), replicated to RGB
//   gray 8      "L"     -> replicated
//   gray 16     "I"     -> min(value, 255) replicated (PIL clips, it does not scale: most
//                          16-bit gray PNGs come out nearly white in PIL, and so here)
//   gray+alpha 8/16     -> the (high byte of) gray replicated, alpha dropped
//   RGB/RGBA 16         -> the high byte of each sample, alpha dropped
//   palette 1/2/4/8     -> the PLTE colour; indices past the end of PLTE read PIL's default
//                          palette, the gray ramp (i, i, i)
// tRNS, gAMA, sRGB, iCCP and sBIT are ignored, as PIL's convert("RGB") ignores them.
// We therefore ask libpng for raw samples (only unpacking sub-byte pixels and de-interlacing)
// and convert ourselves.
//
// Error handling: libpng reports errors through a callback that must not return. We longjmp
// (png_longjmp) back into C-style functions that hold no C++ objects with destructors, and
// raise vitrt::Error only after they return.
#include <png.h>
#include <zlib.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "image/image.hpp"
#include "vitrt/error.hpp"

namespace vitrt::image {
namespace {

struct PngSession {
    png_structp png;
    png_infop info;
    const uint8_t* data;
    size_t size;
    size_t pos;
    char message[256];
    bool truncated;
};

// How to turn one raw row into RGB.
struct PngFormat {
    int width;
    int color_type;
    int bit_depth;
    uint8_t palette[256][3];
};

void on_png_error(png_structp png, png_const_charp msg) {
    auto* s = static_cast<PngSession*>(png_get_error_ptr(png));
    std::snprintf(s->message, sizeof s->message, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}  // PIL does not stop on these either

void on_png_read(png_structp png, png_bytep out, size_t n) {
    auto* s = static_cast<PngSession*>(png_get_io_ptr(png));
    if (n > s->size - s->pos) {
        s->truncated = true;
        png_error(png, "unexpected end of data");
    }
    std::memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

// PIL skips chunks it does not know, critical or not; libpng would refuse unknown critical
// chunks. Claiming them as handled keeps the two in step.
int on_unknown_chunk(png_structp, png_unknown_chunkp) { return 1; }

inline uint32_t be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

// PIL verifies the CRC of every chunk up to the first IDAT (critical, ancillary or unknown) and of
// none after; libpng checks IDAT's too and only warns for ancillary chunks. So we check the
// chunks before IDAT here and tell libpng to ignore CRCs. Returns the first bad chunk's name,
// or an empty string. Chunks cut off by the end of the data are left to libpng (truncation).
std::string bad_crc_before_idat(const uint8_t* data, size_t size) {
    size_t pos = 8;  // after the signature
    while (pos + 12 <= size) {
        const uint32_t length = be32(data + pos);
        if (length > size - pos - 12) break;
        const uint8_t* type = data + pos + 4;
        if (std::memcmp(type, "IDAT", 4) == 0) break;
        const uint32_t crc = uint32_t(crc32(0, type, uInt(length + 4)));
        if (crc != be32(type + 4 + length))
            return std::string(reinterpret_cast<const char*>(type), 4);
        pos += size_t(length) + 12;
    }
    return {};
}

bool read_header(PngSession* s) {
    if (setjmp(png_jmpbuf(s->png))) return false;
    png_set_read_fn(s->png, s, on_png_read);
    png_set_crc_action(s->png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);  // see bad_crc_before_idat
    // PIL inflates with a 32 KiB window whatever the zlib header claims; libpng would reject
    // streams whose header under-states their window ("invalid distance too far back").
    png_set_option(s->png, PNG_MAXIMUM_INFLATE_WINDOW, PNG_OPTION_ON);
    // Our own limits (check_image_size) apply, with a clearer message.
    png_set_user_limits(s->png, 0x7fffffff, 0x7fffffff);
    png_set_read_user_chunk_fn(s->png, nullptr, on_unknown_chunk);
    png_read_info(s->png, s->info);
    return true;
}

inline void put_gray(uint8_t* out, int v) { out[0] = out[1] = out[2] = static_cast<uint8_t>(v); }

// raw: one unpacked row (sub-byte samples already one per byte, 16-bit big-endian).
void convert_row(const uint8_t* raw, uint8_t* out, const PngFormat& f) {
    const int w = f.width;
    switch (f.color_type) {
        case PNG_COLOR_TYPE_GRAY:
            switch (f.bit_depth) {
                case 1:
                    for (int x = 0; x < w; ++x) put_gray(out + 3 * x, raw[x] ? 255 : 0);
                    break;
                case 2:
                    for (int x = 0; x < w; ++x) put_gray(out + 3 * x, raw[x] * 0x55);
                    break;
                case 4:
                    for (int x = 0; x < w; ++x) put_gray(out + 3 * x, raw[x] * 0x11);
                    break;
                case 8:
                    for (int x = 0; x < w; ++x) put_gray(out + 3 * x, raw[x]);
                    break;
                default:
                    for (int x = 0; x < w; ++x) {
                        const int v = (raw[2 * x] << 8) | raw[2 * x + 1];
                        put_gray(out + 3 * x, v > 255 ? 255 : v);
                    }
            }
            break;
        case PNG_COLOR_TYPE_GRAY_ALPHA: {
            const int step = f.bit_depth == 16 ? 4 : 2;
            for (int x = 0; x < w; ++x) put_gray(out + 3 * x, raw[step * x]);
            break;
        }
        case PNG_COLOR_TYPE_RGB:
        case PNG_COLOR_TYPE_RGB_ALPHA: {
            const int channels = f.color_type == PNG_COLOR_TYPE_RGB ? 3 : 4;
            const int bytes = f.bit_depth == 16 ? 2 : 1;
            const int step = channels * bytes;
            for (int x = 0; x < w; ++x)
                for (int c = 0; c < 3; ++c) out[3 * x + c] = raw[step * x + bytes * c];
            break;
        }
        case PNG_COLOR_TYPE_PALETTE:
            for (int x = 0; x < w; ++x) std::memcpy(out + 3 * x, f.palette[raw[x]], 3);
            break;
    }
}

// Reads all rows. Non-interlaced images go row by row through `row` (rowbytes); interlaced ones
// need the whole raw image in `raw_image` (rowbytes * height) for libpng to fill pass by pass.
bool read_pixels(PngSession* s, const PngFormat* f, int height, size_t rowbytes, int passes,
                 uint8_t* rgb, uint8_t* row, uint8_t* raw_image) {
    if (setjmp(png_jmpbuf(s->png))) return false;
    const size_t stride = size_t(f->width) * 3;
    if (passes == 1) {
        for (int y = 0; y < height; ++y) {
            png_read_row(s->png, row, nullptr);
            convert_row(row, rgb + size_t(y) * stride, *f);
        }
    } else {
        for (int pass = 0; pass < passes; ++pass)
            for (int y = 0; y < height; ++y)
                png_read_row(s->png, raw_image + size_t(y) * rowbytes, nullptr);
        for (int y = 0; y < height; ++y)
            convert_row(raw_image + size_t(y) * rowbytes, rgb + size_t(y) * stride, *f);
    }
    // No png_read_end: PIL does not need the chunks after the image data (nor IEND) either.
    return true;
}

bool setup_transforms(PngSession* s, int bit_depth, int* passes, size_t* rowbytes) {
    if (setjmp(png_jmpbuf(s->png))) return false;
    if (bit_depth < 8) png_set_packing(s->png);  // one byte per sample, values not scaled
    *passes = png_set_interlace_handling(s->png);
    png_read_update_info(s->png, s->info);
    *rowbytes = png_get_rowbytes(s->png, s->info);
    return true;
}

struct SessionGuard {
    PngSession* s;
    ~SessionGuard() {
        if (s->png) png_destroy_read_struct(&s->png, s->info ? &s->info : nullptr, nullptr);
    }
};

}  // namespace

RgbImage decode_png(const uint8_t* data, size_t size, const std::string& name,
                    const DecodeLimits& limits) {
    auto session = std::make_unique<PngSession>();
    PngSession* s = session.get();
    s->data = data;
    s->size = size;
    SessionGuard guard{s};
    s->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s, on_png_error, on_png_warning);
    if (s->png) s->info = png_create_info_struct(s->png);
    if (!s->png || !s->info) throw Error(name + ": cannot initialise libpng (out of memory?)");

    auto fail = [&]() -> Error {
        if (s->truncated)
            return Error(name +
                         ": truncated PNG: the data ends before the image is complete; "
                         "the file is incomplete, e.g. an interrupted download");
        return Error(name + ": corrupt PNG: " + s->message);
    };

    const std::string bad_chunk = bad_crc_before_idat(data, size);
    if (!bad_chunk.empty())
        throw Error(name + ": corrupt PNG: CRC mismatch in the " + bad_chunk + " chunk");
    if (!read_header(s)) throw fail();
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(s->png, s->info, &width, &height, &bit_depth, &color_type, &interlace, nullptr,
                 nullptr);
    check_image_size(width, height, name, "PNG", limits.max_pixels);
    warn_if_large(width, height, name, "PNG", limits);

    auto format = std::make_unique<PngFormat>();
    PngFormat* f = format.get();
    f->width = int(width);
    f->color_type = color_type;
    f->bit_depth = bit_depth;
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        for (int i = 0; i < 256; ++i) f->palette[i][0] = f->palette[i][1] = f->palette[i][2] = i;
        png_colorp plte = nullptr;
        int n = 0;
        if (png_get_PLTE(s->png, s->info, &plte, &n) == 0 || n <= 0)
            throw Error(name + ": corrupt PNG: palette image without a PLTE chunk");
        for (int i = 0; i < n && i < 256; ++i) {
            f->palette[i][0] = plte[i].red;
            f->palette[i][1] = plte[i].green;
            f->palette[i][2] = plte[i].blue;
        }
    }

    int passes = 1;
    size_t rowbytes = 0;
    if (!setup_transforms(s, bit_depth, &passes, &rowbytes)) throw fail();
    const int samples = color_type == PNG_COLOR_TYPE_RGB          ? 3
                        : color_type == PNG_COLOR_TYPE_RGB_ALPHA  ? 4
                        : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                                                                  : 1;
    if (rowbytes < size_t(width) * size_t(samples) * (bit_depth == 16 ? 2 : 1))
        throw Error(name + ": PNG decoder reports an unexpected row size");

    // Reserve the peak before allocating it: the RGB output plus one raw row, or the whole raw
    // image for interlaced files (up to 8 bytes per pixel for 16-bit RGBA).
    std::shared_ptr<void> lease;
    if (limits.budget)
        lease = limits.budget->acquire(size_t(width) * size_t(height) * 3 +
                                       rowbytes * (passes == 1 ? 1 : size_t(height)));
    RgbImage img;
    std::vector<uint8_t> row, raw_image;
    try {
        img.width = int(width);
        img.height = int(height);
        img.pixels.resize(size_t(width) * size_t(height) * 3);
        if (passes == 1)
            row.resize(rowbytes);
        else
            raw_image.resize(rowbytes * size_t(height));
    } catch (const std::bad_alloc&) {
        throw Error(name + ": out of memory for a " + std::to_string(width) + "x" +
                    std::to_string(height) + " PNG image");
    }
    if (!read_pixels(s, f, int(height), rowbytes, passes, img.pixels.data(), row.data(),
                     raw_image.data()))
        throw fail();
    img.lease = std::move(lease);
    return img;
}

}  // namespace vitrt::image
