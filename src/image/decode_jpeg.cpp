// JPEG decoding with the system libjpeg-turbo, configured the way Pillow 9.4 (JpegDecode.c,
// JpegImagePlugin.py) configures it, so the pixels are PIL's:
//   - libjpeg's defaults are kept (ISLOW integer IDCT, fancy upsampling, block smoothing), no
//     DCT scaling ("draft" mode is something timm never uses);
//   - the output colour space follows the SOF component count as PIL's mode does: 1 -> gray
//     (replicated to RGB by convert("RGB")), 3 -> JCS_RGB (libjpeg picks YCbCr/RGB itself from
//     the JFIF/Adobe markers), 4 -> JCS_CMYK (libjpeg turns YCCK into CMYK);
//   - 4-component data is always treated as Adobe-inverted ("CMYK;I": PIL assumes Adobe
//     polarity whatever the markers say) and then converted with Pillow's cmyk2rgb.
// Truncation: PIL feeds libjpeg through a suspending source and raises "image file is
// truncated" when the data ends before the last scanline; warnings about corrupt data are
// ignored. Our memory source reports the end of data as the JWRN_JPEG_EOF warning instead, so
// that warning is fatal until every scanline is read, and harmless afterwards (a missing EOI
// marker after complete pixel data, which PIL also accepts).
//
// Error handling: libjpeg reports errors through a callback that must not return. We longjmp
// back into small C-style functions that hold no C++ objects with destructors (so no destructor
// is skipped), and turn the failure into vitrt::Error only after they have returned.
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <jpeglib.h>
// after jpeglib.h: message codes (JWRN_JPEG_EOF)
#include <jerror.h>

#include "image/image.hpp"
#include "vitrt/error.hpp"

namespace vitrt::image {
namespace {

// Real progressive files have about 10 scans; a crafted one with thousands of tiny scans makes
// libjpeg spend minutes (the "scan limit" TurboJPEG also applies). PIL has no such limit.
constexpr int max_jpeg_scans = 1000;

// Everything the libjpeg callbacks touch. Plain data only: it is live across longjmp.
struct JpegSession {
    jpeg_decompress_struct cinfo;
    jpeg_error_mgr err;
    jpeg_progress_mgr progress;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 64];
    bool created;
    bool truncated;
    bool all_rows_read;
};

JpegSession* session_of(j_common_ptr c) { return static_cast<JpegSession*>(c->client_data); }

void on_error_exit(j_common_ptr c) {
    JpegSession* s = session_of(c);
    (*c->err->format_message)(c, s->message);
    std::longjmp(s->jump, 1);
}

void on_emit_message(j_common_ptr c, int level) {
    if (level >= 0) return;  // trace messages
    JpegSession* s = session_of(c);
    if (c->err->msg_code == JWRN_JPEG_EOF && !s->all_rows_read) {
        s->truncated = true;
        (*c->err->format_message)(c, s->message);
        std::longjmp(s->jump, 1);
    }
    // Other warnings ("Corrupt JPEG data: N extraneous bytes", ...) do not stop PIL either.
    c->err->num_warnings++;
}

void on_progress(j_common_ptr c) {
    if (!c->is_decompressor) return;
    auto* d = reinterpret_cast<j_decompress_ptr>(c);
    if (d->input_scan_number > max_jpeg_scans) {
        JpegSession* s = session_of(c);
        std::snprintf(s->message, sizeof s->message,
                      "more than %d progressive scans (corrupt or hostile file)", max_jpeg_scans);
        std::longjmp(s->jump, 1);
    }
}

// Returns false with s->message set when libjpeg failed. No C++ objects in here (see top).
bool read_header(JpegSession* s, const uint8_t* data, size_t size) {
    if (setjmp(s->jump)) return false;
    jpeg_create_decompress(&s->cinfo);
    s->created = true;
    jpeg_mem_src(&s->cinfo, data, static_cast<unsigned long>(size));
    jpeg_read_header(&s->cinfo, TRUE);
    return true;
}

// PIL's cmyk2rgb with the "CMYK;I" inversion folded in: PIL computes
// nk = 255 - K, out = nk - MULDIV255(C, nk) on the inverted samples C = 255 - c, K = 255 - k.
inline uint8_t cmyk_channel(int c_raw, int k_raw) {
    const int tmp = (255 - c_raw) * k_raw + 128;
    const int v = k_raw - (((tmp >> 8) + tmp) >> 8);
    return static_cast<uint8_t>(v < 0 ? 0 : v);
}

void convert_row(const uint8_t* in, uint8_t* out, int width, int components) {
    if (components == 1) {
        for (int x = 0; x < width; ++x) out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[x];
    } else {  // 4: CMYK
        for (int x = 0; x < width; ++x) {
            const uint8_t* p = in + 4 * x;
            out[3 * x + 0] = cmyk_channel(p[0], p[3]);
            out[3 * x + 1] = cmyk_channel(p[1], p[3]);
            out[3 * x + 2] = cmyk_channel(p[2], p[3]);
        }
    }
}

// Starts decompression. For progressive files this reads every scan, so truncation shows up
// here, before the caller allocates the output.
bool start(JpegSession* s) {
    if (setjmp(s->jump)) return false;
    jpeg_decompress_struct* ci = &s->cinfo;
    const int components = ci->num_components;
    ci->out_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    // libjpeg's defaults, which PIL keeps; spelled out because the pixels depend on them.
    ci->dct_method = JDCT_ISLOW;
    ci->do_fancy_upsampling = TRUE;
    ci->scale_num = ci->scale_denom = 1;
    jpeg_start_decompress(ci);
    return true;
}

// Decodes every scanline into rgb (width * height * 3); scratch holds one row of width * 4.
bool read_rows(JpegSession* s, uint8_t* rgb, uint8_t* scratch) {
    if (setjmp(s->jump)) return false;
    jpeg_decompress_struct* ci = &s->cinfo;
    const int components = ci->output_components;
    const size_t stride = size_t(ci->output_width) * 3;
    while (ci->output_scanline < ci->output_height) {
        uint8_t* out_row = rgb + size_t(ci->output_scanline) * stride;
        JSAMPROW row = components == 3 ? out_row : scratch;
        if (jpeg_read_scanlines(ci, &row, 1) != 1) {  // only a suspending source does this
            s->truncated = true;
            std::snprintf(s->message, sizeof s->message, "no more scanlines");
            return false;
        }
        if (components != 3) convert_row(scratch, out_row, int(ci->output_width), components);
    }
    s->all_rows_read = true;
    jpeg_finish_decompress(ci);
    return true;
}

struct SessionGuard {
    JpegSession* s;
    ~SessionGuard() {
        if (s->created) jpeg_destroy_decompress(&s->cinfo);
    }
};

}  // namespace

RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name,
                     const DecodeLimits& limits) {
    auto session = std::make_unique<JpegSession>();
    JpegSession* s = session.get();
    std::memset(s, 0, sizeof *s);
    s->cinfo.err = jpeg_std_error(&s->err);
    s->err.error_exit = on_error_exit;
    s->err.emit_message = on_emit_message;
    s->cinfo.client_data = s;
    SessionGuard guard{s};

    auto fail = [&](const char* what) -> Error {
        if (s->truncated)
            return Error(name + ": truncated JPEG: the data ends before the image is complete (" +
                         s->message + "); the file is incomplete, e.g. an interrupted download");
        return Error(name + ": " + what + ": " + s->message);
    };

    if (!read_header(s, data, size)) throw fail("cannot decode JPEG header");
    jpeg_decompress_struct* ci = &s->cinfo;
    check_image_size(ci->image_width, ci->image_height, name, "JPEG", limits.max_pixels);
    warn_if_large(ci->image_width, ci->image_height, name, "JPEG", limits);
    const int components = ci->num_components;
    if (components != 1 && components != 3 && components != 4)
        throw Error(name + ": unsupported JPEG with " + std::to_string(components) +
                    " colour components (expected 1, 3 or 4)");
    // Reserve the peak before libjpeg allocates: the RGB output, a row of scratch and, for
    // progressive files, the whole-image coefficient buffers jpeg_start_decompress allocates
    // (2 bytes per coefficient per component; chroma may be subsampled, so this is an upper bound).
    const size_t pixels = size_t(ci->image_width) * size_t(ci->image_height);
    std::shared_ptr<void> lease;
    if (limits.budget)
        lease = limits.budget->acquire(pixels * 3 + size_t(ci->image_width) * 4 +
                                       (ci->progressive_mode ? pixels * size_t(components) * 2 : 0));
    s->progress.progress_monitor = on_progress;
    ci->progress = &s->progress;
    if (!start(s)) throw fail("corrupt JPEG data");
    if (int(ci->output_width) != int(ci->image_width) ||
        int(ci->output_height) != int(ci->image_height) ||
        ci->output_components != (components == 1 ? 1 : components))
        throw Error(name + ": JPEG decoder set up an unexpected output (" +
                    std::to_string(ci->output_width) + "x" + std::to_string(ci->output_height) +
                    "x" + std::to_string(ci->output_components) + ")");

    RgbImage img;
    std::vector<uint8_t> scratch;
    try {
        img.width = int(ci->output_width);
        img.height = int(ci->output_height);
        img.pixels.resize(size_t(img.width) * size_t(img.height) * 3);
        scratch.resize(size_t(img.width) * 4);
    } catch (const std::bad_alloc&) {
        throw Error(name + ": out of memory for a " + std::to_string(img.width) + "x" +
                    std::to_string(img.height) + " JPEG image");
    }
    if (!read_rows(s, img.pixels.data(), scratch.data())) throw fail("corrupt JPEG data");
    img.lease = std::move(lease);
    return img;
}

}  // namespace vitrt::image
