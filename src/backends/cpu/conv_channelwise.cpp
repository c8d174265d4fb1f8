// Channelwise (depthwise / channel-multiplier) NHWC convolution. Per output row, 16 output
// channels x 4 output pixels are accumulated in registers over the kernel taps; the kernel row of
// a tap is one contiguous [O] vector ([kh, kw, O] layout). With a multiplier M = 2 the 8 input
// channels of 16 outputs are loaded once and duplicated in-register. Edge pixels (padding) take a
// one-pixel path with the tap range clipped; channel tails use zero-padded partial vectors.
// oneDNN 2.6 runs M > 1 as a generic grouped convolution (jit:avx512_core, ~12 GFLOP/s on
// FastViT's 7x7 downsampling conv); this kernel is what cpu_ops uses there (bench/fastvit.md).
#include <algorithm>
#include <cstring>

#include "backends/cpu/kernels_conv.hpp"
#include "backends/cpu/vec_act.hpp"

// 64-byte vectors passed between always-inline helpers: the non-AVX-512 ABI note cannot apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace vitrt::cpu {
namespace {

typedef float v8 __attribute__((vector_size(32)));

// The input values feeding outputs o0 .. o0 + n of one pixel (px = that pixel's C channels);
// FULL: n == 16.
template <int MM, bool FULL>
inline __attribute__((always_inline)) v16 input_lanes(const float* px, int64_t o0, int64_t n, int64_t M) {
    if constexpr (MM == 1) {
        return FULL ? vload(px + o0) : vload_n(px + o0, n);
    } else if constexpr (MM == 2) {
        if constexpr (FULL) {
            v8 h;
            std::memcpy(&h, px + o0 / 2, sizeof h);
            return __builtin_shufflevector(h, h, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        } else {
            const v16 v = vload_n(px + o0 / 2, (n + 1) / 2);
            const v16i dup = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7};
            return __builtin_shuffle(v, dup);
        }
    } else {
        v16 v = vzero();
        for (int64_t l = 0; l < n; ++l) v[l] = px[(o0 + l) / M];
        return v;
    }
}

template <bool FULL>
inline __attribute__((always_inline)) v16 load(const float* p, int64_t n) {
    return FULL ? vload(p) : vload_n(p, n);
}

template <bool FULL>
inline __attribute__((always_inline)) void finish(const ChannelwiseConv& p, v16 acc, int64_t at, int64_t n) {
    v16 v = vactivate(acc, p.act);
    if (p.residual) v += load<FULL>(p.residual + at, n);
    if (FULL) vstore(p.y + at, v);
    else vstore_n(p.y + at, v, n);
}

// Outputs o0 .. o0 + n (n <= 16) of NOX (1 or 4) consecutive pixels ox .. of row (b, oy), taps
// ky in [ky0, ky1), kx in [kx0, kx1) (valid for each of the pixels). Accumulators stay in registers.
template <int MM, int NOX, bool FULL>
inline __attribute__((always_inline)) void tile(const ChannelwiseConv& p, int64_t b, int64_t oy, int64_t ox,
                                                int64_t ky0, int64_t ky1, int64_t kx0, int64_t kx1, int64_t o0,
                                                int64_t n) {
    const int64_t M = p.O / p.C, s = p.stride, C = p.C, step = s * C;
    const v16 bias = p.bias ? load<FULL>(p.bias + o0, n) : vzero();
    v16 a0 = bias, a1 = bias, a2 = bias, a3 = bias;
    for (int64_t ky = ky0; ky < ky1; ++ky) {
        const float* xrow = p.x + ((b * p.H + oy * s - p.pad + ky) * p.W) * C;
        const float* wrow = p.w_hwo + ky * p.KW * p.O + o0;
        for (int64_t kx = kx0; kx < kx1; ++kx) {
            const v16 wv = load<FULL>(wrow + kx * p.O, n);
            const float* px = xrow + (ox * s - p.pad + kx) * C;
            a0 += input_lanes<MM, FULL>(px, o0, n, M) * wv;
            if constexpr (NOX == 4) {
                a1 += input_lanes<MM, FULL>(px + step, o0, n, M) * wv;
                a2 += input_lanes<MM, FULL>(px + 2 * step, o0, n, M) * wv;
                a3 += input_lanes<MM, FULL>(px + 3 * step, o0, n, M) * wv;
            }
        }
    }
    const int64_t at = ((b * p.Ho + oy) * p.Wo + ox) * p.O + o0;
    finish<FULL>(p, a0, at, n);
    if constexpr (NOX == 4) {
        finish<FULL>(p, a1, at + p.O, n);
        finish<FULL>(p, a2, at + 2 * p.O, n);
        finish<FULL>(p, a3, at + 3 * p.O, n);
    }
}

// All output channels of NOX pixels.
template <int MM, int NOX>
inline __attribute__((always_inline)) void pixels(const ChannelwiseConv& p, int64_t b, int64_t oy, int64_t ox,
                                                  int64_t ky0, int64_t ky1, int64_t kx0, int64_t kx1) {
    int64_t o0 = 0;
    for (; o0 + 16 <= p.O; o0 += 16) tile<MM, NOX, true>(p, b, oy, ox, ky0, ky1, kx0, kx1, o0, 16);
    if (o0 < p.O) tile<MM, NOX, false>(p, b, oy, ox, ky0, ky1, kx0, kx1, o0, p.O - o0);
}

template <int MM>
inline __attribute__((always_inline)) void row(const ChannelwiseConv& p, int64_t b, int64_t oy) {
    const int64_t s = p.stride, iy0 = oy * s - p.pad;
    const int64_t ky0 = std::max<int64_t>(0, -iy0), ky1 = std::min<int64_t>(p.KH, p.H - iy0);
    // Pixels whose taps are all inside the image: [ox_lo, ox_hi).
    const int64_t ox_lo = std::min<int64_t>(p.Wo, (p.pad + s - 1) / s);
    const int64_t last = p.W + p.pad - p.KW;  // largest first-tap column that still fits
    const int64_t ox_hi = last < 0 ? ox_lo : std::max<int64_t>(ox_lo, std::min<int64_t>(p.Wo, last / s + 1));
    auto edge = [&](int64_t ox) {
        const int64_t ix0 = ox * s - p.pad;
        pixels<MM, 1>(p, b, oy, ox, ky0, ky1, std::max<int64_t>(0, -ix0), std::min<int64_t>(p.KW, p.W - ix0));
    };
    for (int64_t ox = 0; ox < ox_lo; ++ox) edge(ox);
    int64_t ox = ox_lo;
    for (; ox + 4 <= ox_hi; ox += 4) pixels<MM, 4>(p, b, oy, ox, ky0, ky1, 0, p.KW);
    for (; ox < ox_hi; ++ox) pixels<MM, 1>(p, b, oy, ox, ky0, ky1, 0, p.KW);
    for (ox = ox_hi; ox < p.Wo; ++ox) edge(ox);
}

VITRT_ISA_CLONES
void rows(const ChannelwiseConv& p, int64_t r0, int64_t r1) {
    const int64_t M = p.O / p.C;
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t b = r / p.Ho, oy = r % p.Ho;
        if (M == 1) row<1>(p, b, oy);
        else if (M == 2) row<2>(p, b, oy);
        else row<0>(p, b, oy);
    }
}

}  // namespace

bool can_run_channelwise(const ChannelwiseConv& p) {
    return p.C > 0 && p.O % p.C == 0 && p.stride >= 1 && p.pad >= 0 && p.KH >= 1 && p.KW >= 1 &&
           p.Ho == (p.H + 2 * p.pad - p.KH) / p.stride + 1 && p.Wo == (p.W + 2 * p.pad - p.KW) / p.stride + 1 &&
           p.Ho > 0 && p.Wo > 0 && p.x != p.y && (p.residual == nullptr || p.residual != p.x);
}

void conv_channelwise_f32(const ChannelwiseConv& p) {
    const int64_t R = p.B * p.Ho;
    // A branch, not an `if` clause: libgomp allocates a fresh team for every serialized region.
    if (R * p.Wo * p.O * p.KH * p.KW > 100000) {
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < R; ++r) rows(p, r, r + 1);
    } else {
        rows(p, 0, R);
    }
}

void pack_channelwise_weight(const float* oihw, int64_t O, int64_t KH, int64_t KW, float* hwo) {
    for (int64_t o = 0; o < O; ++o)
        for (int64_t k = 0; k < KH * KW; ++k) hwo[k * O + o] = oihw[o * KH * KW + k];
}

}  // namespace vitrt::cpu
