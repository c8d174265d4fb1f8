// The cuda backend's own kernels: raw device pointers + a stream + a params struct each, with
// can_run() saying what a kernel supports. One .cu file per kernel family; the op adapters
// (op_adapters.cpp, op_adapters_gemm.cpp) are the only callers. Element types are vitrt DTypes (f32, f16, bf16); every
// kernel reads and writes the dtypes it is given and accumulates in f32.
//
// Testing: tests/test_cuda_ops.cpp runs every op (and so every kernel) against the ref backend on
// odd shapes, per precision; it skips when no GPU is present.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/tensor.hpp"
#include "ops/op_options.hpp"

namespace vitrt::cuda {

// --- convert.cu ----------------------------------------------------------------------------------
// y[i] = x[i] converted between f32/f16/bf16 (round to nearest even). x and y must not overlap
// unless they are the same pointer with the same dtype.
struct ConvertParams {
    const void* x = nullptr;
    DType x_type = DType::f32;
    void* y = nullptr;
    DType y_type = DType::f32;
    int64_t n = 0;
};
void convert_launch(const ConvertParams& p, cudaStream_t s);

// --- gemm_epilogue.cu ----------------------------------------------------------------------------
// The GEMM epilogue cuBLASLt does not fuse: y[m, n] = residual[m, n] + act(t[m, n] + bias[n]), with
// exact erf-GELU. t is the GEMM result; bias/residual optional; y may alias t or residual (each
// element is read before it is written by the same thread). residual has y's dtype.
struct EpilogueParams {
    const void* t = nullptr;
    DType t_type = DType::f32;
    const float* bias = nullptr;  // [N] or null
    const void* residual = nullptr;  // [M, N] in y_type or null
    void* y = nullptr;
    DType y_type = DType::f32;
    Activation act = Activation::none;
    int64_t M = 0, N = 0;
};
void gemm_epilogue_launch(const EpilogueParams& p, cudaStream_t s);

// --- layernorm_fused.cu --------------------------------------------------------------------------
// y = (x - mean) / sqrt(var + eps) * gamma + beta per row of D elements; one block per row, the row
// cached in shared memory (two-pass mean/variance, f32), so y may alias x. D <= 16384.
struct LayerNormParams {
    const void* x = nullptr;
    DType x_type = DType::f32;
    const float* gamma = nullptr;
    const float* beta = nullptr;
    void* y = nullptr;
    DType y_type = DType::f32;
    float eps = 1e-6f;
    int64_t rows = 0, D = 0;
};
bool layernorm_can_run(const LayerNormParams& p);
void layernorm_launch(const LayerNormParams& p, cudaStream_t s);

// --- attention_flash_f32.cu (dispatch + f32 kernel), attention_flash_f16.cu / _bf16.cu -----------
// Fused multi-head self-attention over packed qkv [B, T, 3 * H * hd] -> out [B, T, H * hd], flash
// style: online softmax over key tiles, scores never leave the SM. qkv and out have one dtype.
//   tensor-core kernel (attention_flash_f16.cu / _bf16.cu): WMMA 16x16x16, f16 or bf16 operands
//     (q, k, v and the probabilities rounded to it), f32 scores, softmax and accumulation; head dims
//     32, 64, 80, 96, 128; any T.
//   f32 kernel (attention_flash_f32.cu): CUDA cores, f32 throughout; any head dim <= 256, any T.
struct AttentionParams {
    const void* qkv = nullptr;
    void* out = nullptr;
    DType io_type = DType::f32;
    DType compute = DType::f32;  // f32 -> CUDA-core kernel; f16/bf16 -> tensor-core kernel
    int64_t B = 0, T = 0, heads = 0, head_dim = 0;
    float scale = 1.f;
};
bool attention_can_run(const AttentionParams& p);
void attention_launch(const AttentionParams& p, cudaStream_t s);
// Per-compute-dtype entry points (one translation unit each).
bool attention_tc_head_dim_supported(int64_t hd);
void attention_tc_f16_launch(const AttentionParams& p, cudaStream_t s);
void attention_tc_bf16_launch(const AttentionParams& p, cudaStream_t s);
void attention_f32_launch(const AttentionParams& p, cudaStream_t s);

// --- patchify.cu ---------------------------------------------------------------------------------
// im2col of non-overlapping patches: img [B, C, H, W] -> cols [B * (H/P) * (W/P), C * P * P],
// features in (c, ky, kx) order; the patch-embedding GEMM then runs on cols.
struct PatchifyParams {
    const void* img = nullptr;
    DType img_type = DType::f32;
    void* cols = nullptr;
    DType cols_type = DType::f32;
    int64_t B = 0, C = 0, H = 0, W = 0, P = 0;
};
void patchify_launch(const PatchifyParams& p, cudaStream_t s);

// --- tokens.cu -----------------------------------------------------------------------------------
// out[b, t, :] = (t < Pf ? prefix[t] : patches[b, t - Pf]) + pos[...] (class/dist/register tokens
// and the position embedding in one pass). prefix and pos are f32 parameters.
struct AssembleParams {
    const void* patches = nullptr;
    DType patches_type = DType::f32;
    const float* prefix = nullptr;  // [Pf, D] or null
    const float* pos = nullptr;     // [Pf + N, D] or [N, D] when pos_skips_prefix
    bool pos_skips_prefix = false;
    void* out = nullptr;
    DType out_type = DType::f32;
    int64_t B = 0, N = 0, Pf = 0, D = 0;
};
void assemble_tokens_launch(const AssembleParams& p, cudaStream_t s);

// out[b, d] = mean over t in [first, first + count) of x[b, t, d].
struct PoolParams {
    const void* x = nullptr;
    DType x_type = DType::f32;
    void* out = nullptr;
    DType out_type = DType::f32;
    int64_t B = 0, T = 0, D = 0, first = 0, count = 1;
};
void pool_tokens_launch(const PoolParams& p, cudaStream_t s);

// --- conv_direct.cu, conv_im2col.cu, channels.cu (FastViT) -----------------------------------------
// Direct NHWC convolution, one thread per output element, f32 accumulation: depthwise, grouped and
// channel-multiplier convolutions (and any dense one, slowly). w is OHWI [O, KH, KW, Cin/groups].
// y = residual + act(conv + bias); residual may alias y.
struct ConvParams {
    const void* x = nullptr;
    DType x_type = DType::f32;
    const void* w = nullptr;  // OHWI
    DType w_type = DType::f32;
    const float* bias = nullptr;
    const void* residual = nullptr;  // y_type
    void* y = nullptr;
    DType y_type = DType::f32;
    Activation act = Activation::none;
    int64_t B = 0, H = 0, W = 0, C = 0, O = 0, KH = 0, KW = 0, Ho = 0, Wo = 0, stride = 1, pad = 0, groups = 1;
};
bool conv_direct_can_run(const ConvParams& p);
void conv_direct_launch(const ConvParams& p, cudaStream_t s);
// im2col for a dense (groups = 1) NHWC convolution: cols [B * Ho * Wo, KH * KW * C] in (ky, kx, c)
// order, zeros where the window leaves the image; the GEMM with the OHWI weight [O, KH*KW*C] follows.
void conv_im2col_launch(const ConvParams& p, void* cols, DType cols_type, cudaStream_t s);
// NCHW -> NHWC.
void to_channels_last_launch(const void* x, DType x_type, void* y, DType y_type, int64_t B, int64_t C, int64_t H,
                             int64_t W, cudaStream_t s);
// y[b, t, c] = act(x[b, t, c] * s[b, c]); s has x's dtype; y may alias x.
void scale_channels_launch(const void* x, DType x_type, const void* sc, DType s_type, void* y, DType y_type,
                           Activation act, int64_t B, int64_t T, int64_t C, cudaStream_t s);

}  // namespace vitrt::cuda
