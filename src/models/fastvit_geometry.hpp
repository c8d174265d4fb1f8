// FastViT's shapes at one input resolution, walked once: every conv's output size, each stage's
// token grid, the largest activation and hidden buffers (the forward's arena) and the FLOPs
// (`vitrt info`, bench). Used by the model, its loader and its description alike.
#pragma once

#include <vector>

#include "models/fastvit_config.hpp"

namespace vitrt {

struct FastVitGeometry {
    struct Grid {
        int64_t h = 0, w = 0;
    };
    std::vector<Grid> stages;  // token grid of each stage (after its downsampling)
    Grid final_grid;           // after final_conv
    int64_t max_activation = 0;  // floats per image: the largest NHWC map, the input image included
    int64_t max_hidden = 1;      // floats per image: the largest MLP hidden / qkv buffer
    double flops = 0;            // per image, multiply-add = 2 (convs, GEMMs, attention)
};

// vitrt::Error when the resolution is too small for the strided convolutions.
FastVitGeometry fastvit_geometry(const FastVitConfig& cfg, int64_t height, int64_t width);

}  // namespace vitrt
