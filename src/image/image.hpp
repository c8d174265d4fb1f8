// Images: decoding (libjpeg-turbo, libpng) to 8-bit RGB exactly as PIL's
// Image.open(...).convert("RGB"), PIL-exact resampling, and timm's eval transform (resize, centre
// crop, scale, normalise).
//
// Reference: Debian 12's Pillow 9.4 (which links the same system libjpeg62-turbo), torchvision 0.14
// and timm 1.0.x (transforms_imagenet_eval). What is matched, and to which tolerance, is written
// down in docs/preprocessing.md; tests/test_image*.cpp check it against /usr/bin/python3.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vitrt::image {

// Interleaved 8-bit RGB, row-major: pixels[(y * width + x) * 3 + c].
struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> pixels;
    std::shared_ptr<void> lease;  // decode memory reserved from a DecodeMemoryBudget, if any
};

// Hard limits: no decoder goes beyond them whatever the caller allows (2^28 pixels is 768 MiB of
// RGB), and resize outputs stay below them.
inline constexpr int max_image_side = 32768;
inline constexpr int64_t max_image_pixels = int64_t(1) << 28;

// PIL's decompression-bomb guard: Image.MAX_IMAGE_PIXELS is 89478485; PIL warns above it
// (DecompressionBombWarning) and refuses images above twice that. We do the same: a warning
// above warn_image_pixels, and the default limit refuses above 178956970 pixels (a 633-byte JPEG
// header can otherwise ask for 800 MB); callers that need larger images raise the limit (the
// CLI's --max-image-pixels), up to max_image_pixels.
inline constexpr int64_t warn_image_pixels = 89478485;
inline constexpr int64_t default_max_image_pixels = 2 * warn_image_pixels;

// Bounds the decode memory of all images in flight at once (the classify pipeline decodes on
// every thread): a decoder reserves its peak bytes before allocating them and keeps the
// reservation in RgbImage::lease until the image is destroyed. acquire() waits while the
// reservation does not fit; a request larger than the whole budget runs alone (so any image the
// pixel limit admits still decodes, just not beside others). Thread-safe.
class DecodeMemoryBudget {
public:
    explicit DecodeMemoryBudget(size_t bytes) : capacity_(bytes) {}
    std::shared_ptr<void> acquire(size_t bytes);
    size_t in_use() const;
    size_t capacity() const { return capacity_; }

private:
    void release(size_t bytes);
    const size_t capacity_;
    size_t used_ = 0;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
};

// Default decode budget: 1 GiB: ~28 twelve-megapixel photos at once, or one image at the
// default pixel limit (537 MB of RGB plus decoder buffers).
inline constexpr size_t default_decode_memory_bytes = size_t(1) << 30;

struct DecodeLimits {
    int64_t max_pixels = default_max_image_pixels;  // clamped to max_image_pixels
    DecodeMemoryBudget* budget = nullptr;           // none: no bound across threads
    // Receives the warning for an image above warn_image_pixels that the limit admits (once per
    // decode, naming the image); unset: the warning is written to stderr.
    std::function<void(const std::string&)> warn;
};

// Throws vitrt::Error naming `name` when width x height is empty or over the limits (the
// smaller of max_image_pixels and max_pixels), saying how to raise the pixel limit.
void check_image_size(int64_t width, int64_t height, const std::string& name, const char* format,
                      int64_t max_pixels = default_max_image_pixels);

// PIL's DecompressionBombWarning: when width x height is above warn_image_pixels, one warning
// naming `name` to limits.warn (stderr when unset). Decoders call it after check_image_size.
void warn_if_large(int64_t width, int64_t height, const std::string& name, const char* format,
                   const DecodeLimits& limits);

// Decodes JPEG (grayscale, RGB, CMYK/YCCK incl. Adobe-inverted) or PNG (gray, gray+alpha,
// palette, RGB, RGBA, 1/2/4/8/16-bit) to RGB as PIL's convert("RGB") does (alpha is dropped,
// not composited). The format is found from the magic bytes, never from the name. Throws
// vitrt::Error naming `name` for unreadable, truncated, oversized or unknown data.
// decode_file refuses anything but a regular file (a FIFO or device would block or never end)
// without blocking on it.
RgbImage decode_memory(const uint8_t* data, size_t size, const std::string& name,
                       const DecodeLimits& limits = {});
RgbImage decode_file(const std::string& path, const DecodeLimits& limits = {});

// The format-specific halves of decode_memory (data must carry the right magic bytes).
RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name,
                     const DecodeLimits& limits = {});
RgbImage decode_png(const uint8_t* data, size_t size, const std::string& name,
                    const DecodeLimits& limits = {});

enum class Interp { nearest, bilinear, bicubic };
Interp parse_interp(const std::string& s);  // "bicubic", "bilinear", "nearest"; Error otherwise
const char* interp_name(Interp i);

// PIL Image.resize(size, resample) for 8-bit RGB (no reducing_gap): separable, antialiased
// filters with PIL's fixed-point coefficients and rounding, horizontal pass first. Nearest is
// PIL's affine nearest-neighbour mapping, as Image.resize uses for NEAREST.
RgbImage resize(const RgbImage& src, int out_width, int out_height, Interp interp);

// The window [x0, x0 + width) x [y0, y0 + height) of resize(src, out_width, out_height, interp),
// bit-identical to cropping the full result, without computing the rest.
RgbImage resize_region(const RgbImage& src, int out_width, int out_height, Interp interp, int x0,
                       int y0, int width, int height);

// timm's eval preprocessing (timm.data.transforms_factory.transforms_imagenet_eval):
//   crop_mode "center": square input: torchvision Resize(int): shorter side to
//                       S = floor(size / crop_pct), longer side int(S * long / short);
//                       non-square input: timm's ResizeKeepRatio (each side round(side / r),
//                       r = min(h / floor(H / crop_pct), w / floor(W / crop_pct))), which timm
//                       builds without passing the interpolation, so it is always bilinear there;
//                       then torchvision CenterCrop (zero padding when the image is smaller);
//   crop_mode "squash": resize to (floor(H / crop_pct), floor(W / crop_pct)), centre crop;
//   crop_mode "border": longer side fitted (ResizeKeepRatio longest=1), then centre crop or pad
//                       with round(255 * mean);
//   then /255 and (x - mean) / std in float32, CHW.
enum class CropMode { center, squash, border };
// "center", "squash", "border"; vitrt::Error naming the value and the choices otherwise.
CropMode parse_crop_mode(const std::string& s);
const char* crop_mode_name(CropMode m);

struct PreprocessConfig {
    int input_height = 224;
    int input_width = 224;
    double crop_pct = 0.875;
    CropMode crop_mode = CropMode::center;
    Interp interp = Interp::bicubic;
    float mean[3] = {0.485f, 0.456f, 0.406f};
    float std[3] = {0.229f, 0.224f, 0.225f};
};

// Geometry of the transform for one input size: resize, then pad, then crop.
struct PreprocessPlan {
    int resize_width = 0;  // PIL resize target (equal to the input size: no resampling)
    int resize_height = 0;
    Interp interp = Interp::bicubic;  // the filter actually used (see "center" above)
    int pad_left = 0, pad_top = 0, pad_right = 0, pad_bottom = 0;
    uint8_t pad_fill[3] = {0, 0, 0};
    int crop_left = 0;  // in the padded image
    int crop_top = 0;
};

// Throws vitrt::Error naming the field for an invalid config (sizes out of range, crop_pct not
// positive, mean/std not finite or std zero). Loaders call it once at load.
void validate_preprocess(const PreprocessConfig& cfg);

// Throws vitrt::Error for an invalid config (see validate_preprocess) or image.
PreprocessPlan plan_preprocess(int width, int height, const PreprocessConfig& cfg);

// Resize + pad + crop: the 8-bit input_width x input_height image torchvision's ToTensor sees.
RgbImage resize_and_crop(const RgbImage& img, const PreprocessConfig& cfg);

// Writes 3 * input_height * input_width floats (CHW) to out.
void preprocess(const RgbImage& img, const PreprocessConfig& cfg, float* out);

}  // namespace vitrt::image
