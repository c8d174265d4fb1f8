// PIL-exact resizing of 8-bit RGB: our own implementation of the algorithm of Pillow 9.4's
// Image.resize (libImaging/Resample.c for bilinear/bicubic, Geometry.c's affine nearest
// mapping for NEAREST), so that outputs are bit-identical to PIL's.
//
// Bilinear/bicubic: separable convolution. For each output index the source window and the
// filter weights are computed in double exactly as Pillow does (support scaled by the
// downscale factor, i.e. antialiased; bicubic a = -0.5), normalised to sum 1, then rounded to
// fixed point with 22 fractional bits (PRECISION_BITS = 32 - 8 - 2, rounding half away from
// zero). Each pass accumulates in int32 starting from 0.5 (1 << 21) and clips (v >> 22) to
// [0, 255]. The horizontal pass runs first and only over the source rows the vertical pass
// reads; a pass whose size is unchanged is skipped.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "image/image.hpp"
#include "vitrt/error.hpp"

// The double arithmetic below must round exactly as Pillow's C does, so nothing may be contracted
// into fused multiply-adds (GCC's default in GNU mode when FMA is enabled, e.g. -march=native).
// After the includes, so that library headers keep their own options.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace vitrt::image {
namespace {

constexpr int precision_bits = 32 - 8 - 2;
constexpr int max_resize_side = 1 << 20;

double bilinear_filter(double x) {
    if (x < 0.0) x = -x;
    if (x < 1.0) return 1.0 - x;
    return 0.0;
}

// Keys' cubic convolution kernel with a = -0.5, written in Pillow's evaluation order.
double bicubic_filter(double x) {
    constexpr double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

// Per output index: first source index, tap count, and `ksize` fixed-point weights.
struct Coeffs {
    int ksize = 0;
    std::vector<int> first;
    std::vector<int> count;
    std::vector<int32_t> weights;  // out_size * ksize
};

// Source interval [in0, in1) of in_size samples mapped onto out_size samples. in0/in1 are
// floats because Pillow keeps the resize box in a float[4].
Coeffs make_coeffs(int in_size, float in0, float in1, int out_size, Interp interp) {
    double (*filter)(double) = interp == Interp::bicubic ? bicubic_filter : bilinear_filter;
    const double filter_support = interp == Interp::bicubic ? 2.0 : 1.0;

    const double scale = double(in1 - in0) / out_size;
    const double filterscale = scale < 1.0 ? 1.0 : scale;  // widen the filter when shrinking
    const double support = filter_support * filterscale;
    Coeffs c;
    c.ksize = int(std::ceil(support)) * 2 + 1;
    c.first.resize(size_t(out_size));
    c.count.resize(size_t(out_size));
    c.weights.assign(size_t(out_size) * size_t(c.ksize), 0);
    std::vector<double> w(size_t(c.ksize));
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = in0 + (xx + 0.5) * scale;
        const double ss = 1.0 / filterscale;
        // C truncation toward zero, as in Pillow ("round the value" there).
        int xmin = int(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = int(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            const double v = filter((x + xmin - center + 0.5) * ss);
            w[size_t(x)] = v;
            ww += v;
        }
        int32_t* k = &c.weights[size_t(xx) * size_t(c.ksize)];
        for (int x = 0; x < xmax; ++x) {
            const double v = ww != 0.0 ? w[size_t(x)] / ww : w[size_t(x)];
            // Round half away from zero to 22-bit fixed point.
            k[x] = v < 0 ? int32_t(-0.5 + v * (1 << precision_bits))
                         : int32_t(0.5 + v * (1 << precision_bits));
        }
        c.first[size_t(xx)] = xmin;
        c.count[size_t(xx)] = xmax;
    }
    return c;
}

inline uint8_t clip8(int32_t v) {
    const int32_t s = v >> precision_bits;  // arithmetic shift (floor), as Pillow's table index
    return uint8_t(s < 0 ? 0 : s > 255 ? 255 : s);
}

// Below this many multiply-adds (a few ms) a pass runs on the calling thread: waking a team
// costs more than it saves on typical photos, and far more when the cores are busy.
constexpr int64_t parallel_threshold = int64_t(1) << 22;

// Horizontal pass: rows [row0, row0 + rows) of src, output columns [x0, x0 + w).
void horizontal_pass(const RgbImage& src, int row0, int rows, const Coeffs& c, int x0, int w,
                     uint8_t* out) {
    const size_t in_stride = size_t(src.width) * 3;
    const int64_t work = int64_t(rows) * w * c.ksize;
#pragma omp parallel for schedule(static) if (work > parallel_threshold)
    for (int y = 0; y < rows; ++y) {
        const uint8_t* in = src.pixels.data() + size_t(row0 + y) * in_stride;
        uint8_t* o = out + size_t(y) * size_t(w) * 3;
        for (int xx = 0; xx < w; ++xx) {
            const size_t ox = size_t(x0 + xx);
            const int32_t* k = &c.weights[ox * size_t(c.ksize)];
            const uint8_t* p = in + size_t(c.first[ox]) * 3;
            const int n = c.count[ox];
            int32_t s0 = 1 << (precision_bits - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < n; ++x) {
                s0 += p[3 * x + 0] * k[x];
                s1 += p[3 * x + 1] * k[x];
                s2 += p[3 * x + 2] * k[x];
            }
            o[3 * xx + 0] = clip8(s0);
            o[3 * xx + 1] = clip8(s1);
            o[3 * xx + 2] = clip8(s2);
        }
    }
}

// Vertical pass: in has `in_width` pixels per row, row 0 being source row `row0`; writes output
// rows [y0, y0 + h). Integer sums are exact, so accumulating tap by tap over whole rows (cache
// friendly, vectorisable) gives Pillow's per-pixel results.
void vertical_pass(const uint8_t* in, int in_width, int row0, const Coeffs& c, int y0, int h,
                   uint8_t* out) {
    const size_t n = size_t(in_width) * 3;
    const int64_t work = int64_t(h) * in_width * c.ksize;
#pragma omp parallel if (work > parallel_threshold)
    {
        std::vector<int32_t> acc(n);
#pragma omp for schedule(static)
        for (int yy = 0; yy < h; ++yy) {
            const size_t oy = size_t(y0 + yy);
            const int32_t* k = &c.weights[oy * size_t(c.ksize)];
            const int first = c.first[oy] - row0;
            std::fill(acc.begin(), acc.end(), 1 << (precision_bits - 1));
            for (int t = 0; t < c.count[oy]; ++t) {
                const uint8_t* row = in + size_t(first + t) * n;
                const int32_t kt = k[t];
                for (size_t i = 0; i < n; ++i) acc[i] += row[i] * kt;
            }
            uint8_t* o = out + size_t(yy) * n;
            for (size_t i = 0; i < n; ++i) o[i] = clip8(acc[i]);
        }
    }
}

// Pillow's ImagingScaleAffine: output pixel x samples source floor(x0 + (x + 0.5) * scale),
// with the position accumulated by repeated addition as Pillow does (the rounding of that sum
// decides ties).
std::vector<int> nearest_table(int in_size, int out_size) {
    const double a = double(float(in_size)) / out_size;
    std::vector<int> tab(size_t(out_size), -1);
    double pos = 0.0 + a * 0.5;
    for (int x = 0; x < out_size; ++x) {
        const int xin = pos < 0.0 ? -1 : int(pos);
        if (xin >= 0 && xin < in_size) tab[size_t(x)] = xin;
        pos += a;
    }
    return tab;
}

void check_args(const RgbImage& src, int out_width, int out_height) {
    if (src.width <= 0 || src.height <= 0 ||
        src.pixels.size() != size_t(src.width) * size_t(src.height) * 3)
        throw Error("resize: invalid source image (" + std::to_string(src.width) + "x" +
                    std::to_string(src.height) + ", " + std::to_string(src.pixels.size()) +
                    " bytes)");
    // The output may be larger than a decodable image as long as the window computed is not
    // (preprocess crops 224x224 out of e.g. 248x60000 for a 1-pixel-high strip); the bound
    // keeps the per-index coefficient tables small.
    if (out_width <= 0 || out_height <= 0 || out_width > max_resize_side ||
        out_height > max_resize_side)
        throw Error("resize: invalid output size " + std::to_string(out_width) + "x" +
                    std::to_string(out_height) + " (each side must be in 1.." +
                    std::to_string(max_resize_side) + ")");
}

}  // namespace

RgbImage resize_region(const RgbImage& src, int out_width, int out_height, Interp interp, int x0,
                       int y0, int width, int height) {
    check_args(src, out_width, out_height);
    if (width <= 0 || height <= 0 || x0 < 0 || y0 < 0 || x0 + width > out_width ||
        y0 + height > out_height)
        throw Error("resize_region: window " + std::to_string(width) + "x" +
                    std::to_string(height) + "+" + std::to_string(x0) + "+" + std::to_string(y0) +
                    " is not inside " + std::to_string(out_width) + "x" +
                    std::to_string(out_height));
    if (int64_t(width) * height > max_image_pixels)
        throw Error("resize: output window " + std::to_string(width) + "x" +
                    std::to_string(height) + " is too large");
    RgbImage out;
    out.width = width;
    out.height = height;
    out.pixels.resize(size_t(width) * size_t(height) * 3);
    const size_t in_stride = size_t(src.width) * 3;
    const size_t out_stride = size_t(width) * 3;

    // Same size: PIL returns a copy.
    if (out_width == src.width && out_height == src.height) {
        for (int y = 0; y < height; ++y)
            std::memcpy(&out.pixels[size_t(y) * out_stride],
                        &src.pixels[size_t(y0 + y) * in_stride + size_t(x0) * 3], out_stride);
        return out;
    }

    if (interp == Interp::nearest) {
        const std::vector<int> xs = nearest_table(src.width, out_width);
        const std::vector<int> ys = nearest_table(src.height, out_height);
        for (int y = 0; y < height; ++y) {
            const int sy = ys[size_t(y0 + y)];
            uint8_t* o = &out.pixels[size_t(y) * out_stride];
            for (int x = 0; x < width; ++x) {
                const int sx = xs[size_t(x0 + x)];
                if (sy < 0 || sx < 0) {  // outside the source: Pillow fills with 0
                    o[3 * x] = o[3 * x + 1] = o[3 * x + 2] = 0;
                } else {
                    std::memcpy(o + 3 * x, &src.pixels[size_t(sy) * in_stride + size_t(sx) * 3], 3);
                }
            }
        }
        return out;
    }

    const bool need_horizontal = out_width != src.width;
    const bool need_vertical = out_height != src.height;
    const Coeffs vert = make_coeffs(src.height, 0.0f, float(src.height), out_height, interp);

    // Source rows the requested output rows read (Pillow's ybox_first/ybox_last, restricted to
    // the window).
    const int row_first = vert.first[size_t(y0)];
    const int row_last = vert.first[size_t(y0 + height - 1)] + vert.count[size_t(y0 + height - 1)];

    if (!need_vertical) {  // horizontal pass only; output rows are source rows
        const Coeffs horiz = make_coeffs(src.width, 0.0f, float(src.width), out_width, interp);
        horizontal_pass(src, y0, height, horiz, x0, width, out.pixels.data());
        return out;
    }
    if (!need_horizontal) {  // vertical pass only, on the window's columns of the source
        const int rows = row_last - row_first;
        std::vector<uint8_t> tmp(size_t(rows) * out_stride);
        for (int y = 0; y < rows; ++y)
            std::memcpy(&tmp[size_t(y) * out_stride],
                        &src.pixels[size_t(row_first + y) * in_stride + size_t(x0) * 3],
                        out_stride);
        vertical_pass(tmp.data(), width, row_first, vert, y0, height, out.pixels.data());
        return out;
    }
    const Coeffs horiz = make_coeffs(src.width, 0.0f, float(src.width), out_width, interp);
    const int rows = row_last - row_first;
    std::vector<uint8_t> tmp(size_t(rows) * out_stride);
    horizontal_pass(src, row_first, rows, horiz, x0, width, tmp.data());
    vertical_pass(tmp.data(), width, row_first, vert, y0, height, out.pixels.data());
    return out;
}

RgbImage resize(const RgbImage& src, int out_width, int out_height, Interp interp) {
    return resize_region(src, out_width, out_height, interp, 0, 0, out_width, out_height);
}

}  // namespace vitrt::image
