// Data-movement kernels around the transformer: patch extraction, token assembly, pooling.
#include <cstring>

#include "backends/cpu/kernels.hpp"

namespace vitrt::cpu {

void patchify_f32(const float* img, int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, float* out) {
    const int64_t gh = H / p, gw = W / p, F = C * p * p;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
        for (int64_t gy = 0; gy < gh; ++gy)
            for (int64_t gx = 0; gx < gw; ++gx) {
                float* dst = out + ((b * gh + gy) * gw + gx) * F;
                for (int64_t c = 0; c < C; ++c)
                    for (int64_t ky = 0; ky < p; ++ky)
                        std::memcpy(dst + (c * p + ky) * p, img + ((b * C + c) * H + gy * p + ky) * W + gx * p,
                                    size_t(p) * sizeof(float));
            }
}

void assemble_tokens_f32(const float* patches, const float* prefix, const float* pos, bool pos_skips_prefix,
                         int64_t B, int64_t N, int64_t Pf, int64_t D, float* out) {
    const int64_t T = Pf + N;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T; ++t) {
            const float* src = t < Pf ? prefix + t * D : patches + (b * N + t - Pf) * D;
            const float* pe = pos_skips_prefix ? (t < Pf ? nullptr : pos + (t - Pf) * D) : pos + t * D;
            float* dst = out + (b * T + t) * D;
            if (pe) {
#pragma omp simd
                for (int64_t d = 0; d < D; ++d) dst[d] = src[d] + pe[d];
            } else {
                std::memcpy(dst, src, size_t(D) * sizeof(float));
            }
        }
}

void pool_tokens_f32(const float* x, int64_t B, int64_t T, int64_t D, int64_t first, int64_t count, float* out) {
    auto pool = [&](int64_t b) {
        float* o = out + b * D;
        std::memcpy(o, x + (b * T + first) * D, size_t(D) * sizeof(float));
        for (int64_t t = first + 1; t < first + count; ++t) {
            const float* r = x + (b * T + t) * D;
#pragma omp simd
            for (int64_t d = 0; d < D; ++d) o[d] += r[d];
        }
        if (count > 1) {
            const float inv = 1.0f / float(count);
            for (int64_t d = 0; d < D; ++d) o[d] *= inv;
        }
    };
    // A branch, not an `if` clause: libgomp allocates a fresh team for every serialized region.
    if (B > 1) {
#pragma omp parallel for schedule(static)
        for (int64_t b = 0; b < B; ++b) pool(b);
    } else {
        for (int64_t b = 0; b < B; ++b) pool(b);
    }
}

}  // namespace vitrt::cpu
