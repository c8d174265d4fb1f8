// Multi-head attention for the cpu backend: one (image, head, block of query rows) per task; the
// T scores of a query row stay in a per-thread buffer (T <= a few thousand), never N x N in memory.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/kernels.hpp"

namespace vitrt::cpu {
namespace {

constexpr int64_t kRowBlock = 16;

__attribute__((target_clones("avx512f", "avx2", "default")))
void attention_rows(const float* qkv, int64_t T, int64_t D3, int64_t koff, int64_t voff, int64_t hd, float scale,
                    int64_t row0, int64_t row1, float* s, float* out, int64_t out_stride) {
    for (int64_t i = row0; i < row1; ++i) {
        const float* q = qkv + i * D3;
        float mx = -INFINITY;
        for (int64_t j = 0; j < T; ++j) {
            const float* k = qkv + j * D3 + koff;
            float acc = 0.f;
#pragma omp simd reduction(+ : acc)
            for (int64_t e = 0; e < hd; ++e) acc += q[e] * k[e];
            s[j] = acc * scale;
            mx = std::max(mx, s[j]);
        }
        float sum = 0.f;
        for (int64_t j = 0; j < T; ++j) {
            s[j] = std::exp(s[j] - mx);
            sum += s[j];
        }
        const float inv = 1.0f / sum;
        float* o = out + i * out_stride;
#pragma omp simd
        for (int64_t e = 0; e < hd; ++e) o[e] = 0.f;
        for (int64_t j = 0; j < T; ++j) {
            const float* v = qkv + j * D3 + voff;
            const float p = s[j] * inv;
#pragma omp simd
            for (int64_t e = 0; e < hd; ++e) o[e] += p * v[e];
        }
    }
}

}  // namespace

void attention_f32(const float* qkv, int64_t B, int64_t T, int64_t heads, int64_t hd, float scale, float* out) {
    const int64_t D = heads * hd, D3 = 3 * D;
    const int64_t blocks = (T + kRowBlock - 1) / kRowBlock;
#pragma omp parallel
    {
        thread_local std::vector<float> scores;  // grows once per thread, then reused
        if (int64_t(scores.size()) < T) scores.resize(size_t(T));
#pragma omp for collapse(3) schedule(static)
        for (int64_t b = 0; b < B; ++b)
            for (int64_t h = 0; h < heads; ++h)
                for (int64_t blk = 0; blk < blocks; ++blk) {
                    const float* base = qkv + b * T * D3 + h * hd;
                    attention_rows(base, T, D3, D, 2 * D, hd, scale, blk * kRowBlock,
                                   std::min(T, (blk + 1) * kRowBlock), scores.data(), out + b * T * D + h * hd, D);
                }
    }
}

}  // namespace vitrt::cpu
