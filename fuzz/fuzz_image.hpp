// Decode + the model's preprocessing, as Engine::preprocess_encoded does it.
#pragma once

#include <cstring>
#include <vector>

#include "image/image.hpp"
#include "vitrt/error.hpp"

namespace vitrt::fuzz {

// Images above this are refused by the fuzz targets only to keep each run fast (a 16-megapixel
// decode takes ~100 ms under ASan); the size checks themselves are covered by unit tests.
inline constexpr int64_t kFuzzMaxPixels = int64_t(1) << 22;

inline void decode_and_preprocess(const uint8_t* data, size_t size) {
    try {
        image::DecodeLimits limits;
        limits.max_pixels = kFuzzMaxPixels;
        const image::RgbImage img = image::decode_memory(data, size, "fuzz", limits);
        if (img.pixels.size() != size_t(img.width) * size_t(img.height) * 3) __builtin_trap();
        image::PreprocessConfig cfg;
        cfg.input_height = cfg.input_width = 32;  // small: the resize filters still see every pixel
        std::vector<float> out(3 * 32 * 32);
        image::preprocess(img, cfg, out.data());
    } catch (const vitrt::Error&) {
    }
}

}  // namespace vitrt::fuzz
