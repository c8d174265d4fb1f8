// timm's eval transform (timm 1.0 transforms_imagenet_eval) on top of torchvision 0.14's PIL
// code paths: Resize, CenterCrop (with its zero padding), ToTensor, Normalize. Sizes are
// computed with Python's float semantics (true division in double, floor, int() truncation,
// round() half to even) so that every geometry decision matches; pixels then come from the
// PIL-exact resize and the float32 arithmetic torch uses, so the tensor is bit-identical.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "image/image.hpp"
#include "vitrt/error.hpp"

namespace vitrt::image {
namespace {

// Python's round() on a float: half to even, independent of the FPU rounding mode.
int64_t round_half_even(double v) {
    const double fl = std::floor(v);
    const double diff = v - fl;
    int64_t r = int64_t(fl);
    if (diff > 0.5 || (diff == 0.5 && (r % 2 != 0))) ++r;
    return r;
}

// int(round(d / 2.0)) for torchvision's crop offsets.
int half_round_even(int d) { return int(round_half_even(d / 2.0)); }

// timm's ResizeKeepRatio.get_params (no random scaling): size = round(side / ratio) with the
// ratio of the shortest (longest = 0) or longest (longest = 1) side to its target.
void keep_ratio_size(int width, int height, int target_h, int target_w, bool longest, int* out_h,
                     int* out_w) {
    const double ratio_h = double(height) / target_h;
    const double ratio_w = double(width) / target_w;
    const double ratio = longest ? std::max(ratio_h, ratio_w) : std::min(ratio_h, ratio_w);
    const int64_t h = round_half_even(height / ratio);
    const int64_t w = round_half_even(width / ratio);
    check(h >= 1 && w >= 1 && h <= (1 << 20) && w <= (1 << 20),
          "preprocess: resize target " + std::to_string(w) + "x" + std::to_string(h) + " for a " +
              std::to_string(width) + "x" + std::to_string(height) + " image is out of range");
    *out_h = int(h);
    *out_w = int(w);
}

void check_config(const PreprocessConfig& cfg) {
    check(cfg.input_height >= 1 && cfg.input_width >= 1 && cfg.input_height <= max_image_side &&
              cfg.input_width <= max_image_side,
          "preprocess: input size " + std::to_string(cfg.input_width) + "x" +
              std::to_string(cfg.input_height) + " is out of range");
    check(std::isfinite(cfg.crop_pct) && cfg.crop_pct > 0.0,
          "preprocess: crop_pct must be a positive number, got " + std::to_string(cfg.crop_pct));
    for (int c = 0; c < 3; ++c)
        check(std::isfinite(cfg.mean[c]) && std::isfinite(cfg.std[c]) && cfg.std[c] != 0.0f,
              "preprocess: mean/std must be finite and std non-zero");
}

}  // namespace

CropMode parse_crop_mode(const std::string& s) {
    if (s == "center") return CropMode::center;
    if (s == "squash") return CropMode::squash;
    if (s == "border") return CropMode::border;
    throw Error("unknown crop_mode '" + s + "' (expected center, squash or border)");
}

const char* crop_mode_name(CropMode m) {
    switch (m) {
        case CropMode::center: return "center";
        case CropMode::squash: return "squash";
        case CropMode::border: return "border";
    }
    return "?";
}

void validate_preprocess(const PreprocessConfig& cfg) { check_config(cfg); }

PreprocessPlan plan_preprocess(int width, int height, const PreprocessConfig& cfg) {
    check_config(cfg);
    check(width >= 1 && height >= 1,
          "preprocess: empty image (" + std::to_string(width) + "x" + std::to_string(height) + ")");
    const double scale_h = std::floor(cfg.input_height / cfg.crop_pct);
    const double scale_w = std::floor(cfg.input_width / cfg.crop_pct);
    check(scale_h >= 1 && scale_w >= 1 && scale_h <= (1 << 20) && scale_w <= (1 << 20),
          "preprocess: crop_pct " + std::to_string(cfg.crop_pct) +
              " gives an out-of-range resize size");
    const int sh = int(scale_h), sw = int(scale_w);

    PreprocessPlan p;
    p.interp = cfg.interp;
    if (cfg.crop_mode == CropMode::squash) {
        p.resize_height = sh;
        p.resize_width = sw;
    } else if (cfg.crop_mode == CropMode::border) {
        keep_ratio_size(width, height, sh, sw, true, &p.resize_height, &p.resize_width);
        for (int c = 0; c < 3; ++c) {
            const int64_t v = round_half_even(255.0 * double(cfg.mean[c]));
            p.pad_fill[c] = uint8_t(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    } else if (sh == sw) {
        // torchvision Resize(int): the shorter side becomes S, the longer int(S * long / short).
        const int shorter = std::min(width, height), longer = std::max(width, height);
        const double l = double(int64_t(sh) * longer) / shorter;
        check(l <= (1 << 20), "preprocess: the image's aspect ratio is too extreme (" +
                                  std::to_string(width) + "x" + std::to_string(height) + ")");
        const int new_long = int(l);
        p.resize_width = width <= height ? sh : new_long;
        p.resize_height = width <= height ? new_long : sh;
    } else {
        // timm builds ResizeKeepRatio(scale_size) without the interpolation argument, so the
        // non-square "center" path resizes with ResizeKeepRatio's default, bilinear.
        keep_ratio_size(width, height, sh, sw, false, &p.resize_height, &p.resize_width);
        p.interp = Interp::bilinear;
    }

    // torchvision CenterCrop: pad (left/top get the smaller half) when the image is smaller
    // than the crop, then crop at int(round((size - crop) / 2.0)).
    const int th = cfg.input_height, tw = cfg.input_width;
    if (tw > p.resize_width) {
        p.pad_left = (tw - p.resize_width) / 2;
        p.pad_right = (tw - p.resize_width + 1) / 2;
    }
    if (th > p.resize_height) {
        p.pad_top = (th - p.resize_height) / 2;
        p.pad_bottom = (th - p.resize_height + 1) / 2;
    }
    const int padded_w = p.resize_width + p.pad_left + p.pad_right;
    const int padded_h = p.resize_height + p.pad_top + p.pad_bottom;
    p.crop_left = half_round_even(padded_w - tw);
    p.crop_top = half_round_even(padded_h - th);
    return p;
}

RgbImage resize_and_crop(const RgbImage& img, const PreprocessConfig& cfg) {
    check(img.width >= 1 && img.height >= 1 &&
              img.pixels.size() == size_t(img.width) * size_t(img.height) * 3,
          "preprocess: invalid image (" + std::to_string(img.width) + "x" +
              std::to_string(img.height) + ", " + std::to_string(img.pixels.size()) + " bytes)");
    const PreprocessPlan p = plan_preprocess(img.width, img.height, cfg);
    RgbImage out;
    out.width = cfg.input_width;
    out.height = cfg.input_height;
    out.pixels.resize(size_t(out.width) * size_t(out.height) * 3);
    for (size_t i = 0; i < out.pixels.size(); i += 3) std::memcpy(&out.pixels[i], p.pad_fill, 3);

    // The crop rectangle in resized-image coordinates, clipped to the resized image; only that
    // window is resampled.
    const int x_begin = std::max(p.crop_left - p.pad_left, 0);
    const int y_begin = std::max(p.crop_top - p.pad_top, 0);
    const int x_end = std::min(p.crop_left - p.pad_left + out.width, p.resize_width);
    const int y_end = std::min(p.crop_top - p.pad_top + out.height, p.resize_height);
    if (x_end <= x_begin || y_end <= y_begin) return out;
    const RgbImage win = resize_region(img, p.resize_width, p.resize_height, p.interp, x_begin,
                                       y_begin, x_end - x_begin, y_end - y_begin);
    const int dx = x_begin + p.pad_left - p.crop_left;
    const int dy = y_begin + p.pad_top - p.crop_top;
    const size_t row_bytes = size_t(win.width) * 3;
    for (int y = 0; y < win.height; ++y)
        std::memcpy(&out.pixels[(size_t(y + dy) * size_t(out.width) + size_t(dx)) * 3],
                    &win.pixels[size_t(y) * row_bytes], row_bytes);
    return out;
}

void preprocess(const RgbImage& img, const PreprocessConfig& cfg, float* out) {
    check(out != nullptr, "preprocess: null output buffer");
    const RgbImage crop = resize_and_crop(img, cfg);
    // ToTensor: float32(v) / 255; Normalize: (x - mean) / std, each a float32 operation as in
    // torch, so a 256-entry table per channel holds the exact results.
    float lut[3][256];
    for (int c = 0; c < 3; ++c)
        for (int v = 0; v < 256; ++v) {
            const float x = float(v) / 255.0f;
            lut[c][v] = (x - cfg.mean[c]) / cfg.std[c];
        }
    const size_t plane = size_t(crop.width) * size_t(crop.height);
    const uint8_t* px = crop.pixels.data();
    for (size_t i = 0; i < plane; ++i) {
        out[i] = lut[0][px[3 * i + 0]];
        out[plane + i] = lut[1][px[3 * i + 1]];
        out[2 * plane + i] = lut[2][px[3 * i + 2]];
    }
}

}  // namespace vitrt::image
