// Channels-last helpers of the cpu backend: NCHW -> NHWC for the input image, and per-image
// channel gating (squeeze-excite) with a fused activation.
#include "backends/cpu/kernels_conv.hpp"
#include "backends/cpu/vec_act.hpp"

// 64-byte vectors passed between always-inline helpers: the non-AVX-512 ABI note cannot apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace vitrt::cpu {
namespace {

VITRT_ISA_CLONES
void scale_row(const float* x, const float* s, int64_t C, Activation act, float* y) {
    int64_t c = 0;
    for (; c + 16 <= C; c += 16) vstore(y + c, vactivate(vload(x + c) * vload(s + c), act));
    if (c < C) vstore_n(y + c, vactivate(vload_n(x + c, C - c) * vload_n(s + c, C - c), act), C - c);
}

}  // namespace

void to_channels_last_f32(const float* x, int64_t B, int64_t C, int64_t H, int64_t W, float* y) {
    const int64_t HW = H * W;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h) {
            const float* src = x + b * C * HW + h * W;
            float* dst = y + (b * HW + h * W) * C;
            for (int64_t w = 0; w < W; ++w)
                for (int64_t c = 0; c < C; ++c) dst[w * C + c] = src[c * HW + w];
        }
}

void scale_channels_f32(const float* x, const float* s, int64_t B, int64_t T, int64_t C, Activation act, float* y) {
    // A branch, not an `if` clause: libgomp allocates a fresh team for every serialized region.
    if (B * T * C > 16384) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < T; ++t) scale_row(x + (b * T + t) * C, s + b * C, C, act, y + (b * T + t) * C);
    } else {
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < T; ++t) scale_row(x + (b * T + t) * C, s + b * C, C, act, y + (b * T + t) * C);
    }
}

}  // namespace vitrt::cpu
