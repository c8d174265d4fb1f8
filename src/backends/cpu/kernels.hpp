// Own CPU kernels of the cpu backend (f32). Raw pointers + sizes; each is parallel over rows
// with OpenMP and compiled for several ISAs (AVX-512, AVX2, baseline), picked at run time.
// Reference twins: src/backends/ref/ref_ops.cpp; tests: tests/test_backend_ops.cpp.
#pragma once

#include <cstdint>

#include "backends/cpu/bf16_convert.hpp"

namespace vitrt::cpu {

// y[r, :] = LayerNorm(x[r, :]) * gamma + beta for r < rows; y may equal x.
void layernorm_f32(const float* x, const float* gamma, const float* beta, float eps, int64_t rows, int64_t dim,
                   float* y);

// qkv [B, T, 3 * heads * hd] -> out [B, T, heads * hd]; softmax(q k^T * scale) v per head, for
// query rows [0, query_rows) of every image (-1: all T; other rows of out are not written).
void attention_f32(const float* qkv, int64_t B, int64_t T, int64_t heads, int64_t hd, float scale, float* out,
                   int64_t query_rows = -1);

// Same with bf16 products and f32 accumulation (AVX512-BF16 only: see cpu_has_avx512_bf16).
void attention_bf16(const float* qkv, int64_t B, int64_t T, int64_t heads, int64_t hd, float scale, float* out,
                    int64_t query_rows = -1);

// img [B, C, H, W] -> out [B, (H/p)*(W/p), C*p*p].
void patchify_f32(const float* img, int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, float* out);

// out[b, t, :] = (t < Pf ? prefix[t] : patches[b, t - Pf]) + pos row (see Ops::assemble_tokens).
void assemble_tokens_f32(const float* patches, const float* prefix, const float* pos, bool pos_skips_prefix,
                         int64_t B, int64_t N, int64_t Pf, int64_t D, float* out);

// out[b, :] = mean of x[b, first .. first + count, :].
void pool_tokens_f32(const float* x, int64_t B, int64_t T, int64_t D, int64_t first, int64_t count, float* out);

}  // namespace vitrt::cpu
