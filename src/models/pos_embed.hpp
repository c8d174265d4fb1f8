// Resampling a learned position-embedding grid to another resolution, as timm's
// resample_abs_pos_embed (timm/layers/pos_embed.py) does when a ViT runs at a resolution other
// than its checkpoint's: F.interpolate(mode="bicubic", antialias=True, align_corners=False).
#pragma once

#include <cstdint>
#include <vector>

namespace vitrt {

// grid: [gh, gw, D] row-major -> [nh, nw, D]. torch's antialiased bicubic: separable filter with
// a = -0.5, support 2 (scaled by the downsampling factor when shrinking), weights normalised per
// output position, computed in double.
std::vector<float> resample_pos_embed_bicubic(const float* grid, int64_t gh, int64_t gw, int64_t D, int64_t nh,
                                              int64_t nw);

}  // namespace vitrt
