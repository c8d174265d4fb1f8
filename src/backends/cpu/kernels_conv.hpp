// Own CPU kernels for convolutional models (f32, channels-last NHWC). Raw pointers + a params
// struct; parallel over output rows with OpenMP; 16-float vectors (vec.hpp) compiled for
// AVX-512, AVX2 and baseline, picked at run time.
// Reference twins: RefOps::conv2d / to_channels_last / scale_channels;
// tests and how to bench: tests/test_backend_ops_conv.cpp, bench/fastvit.md.
#pragma once

#include <cstdint>

#include "ops/op_options.hpp"

namespace vitrt::cpu {

// Channelwise convolution: every output channel o reads the single input channel o / M
// (a [O, 1, kh, kw] kernel: depthwise when M = O / C == 1, channel multiplier M > 1 as in
// FastViT's downsampling and final convs). y = residual + act(conv + bias).
struct ChannelwiseConv {
    const float* x = nullptr;         // [B, H, W, C]
    const float* w_hwo = nullptr;     // [kh, kw, O] (pack_channelwise_weight)
    const float* bias = nullptr;      // [O] or null
    const float* residual = nullptr;  // [B, Ho, Wo, O] or null; may equal y
    float* y = nullptr;               // [B, Ho, Wo, O]
    int64_t B = 0, H = 0, W = 0, C = 0, O = 0, KH = 0, KW = 0, Ho = 0, Wo = 0;
    int64_t stride = 1, pad = 0;
    Activation act = Activation::none;
};
bool can_run_channelwise(const ChannelwiseConv& p);  // O a multiple of C, geometry consistent
void conv_channelwise_f32(const ChannelwiseConv& p);

// [O, 1, kh, kw] -> [kh, kw, O].
void pack_channelwise_weight(const float* oihw, int64_t O, int64_t KH, int64_t KW, float* hwo);

// x [B, C, H, W] -> y [B, H, W, C].
void to_channels_last_f32(const float* x, int64_t B, int64_t C, int64_t H, int64_t W, float* y);

// y[b, t, c] = act(x[b, t, c] * s[b, c]); y may equal x.
void scale_channels_f32(const float* x, const float* s, int64_t B, int64_t T, int64_t C, Activation act, float* y);

}  // namespace vitrt::cpu
