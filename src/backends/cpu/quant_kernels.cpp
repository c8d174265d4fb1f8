// Quantization kernels of the cpu backend (see kernels_quant.hpp).
// GCC 12 warns about its own _mm512_undefined_* inside the intrinsic headers (a known false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <atomic>

#include "backends/cpu/kernels_quant.hpp"
#include "quant/act_quant.hpp"

namespace vitrt::cpu {
namespace {

#define VITRT_AVX512BW __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

std::atomic<bool> g_force_scalar{false};
bool use_avx512() {
    static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    return has && !g_force_scalar.load(std::memory_order_relaxed);
}

__mmask16 tail_mask(int64_t n) { return __mmask16((1u << n) - 1); }

// Quantizes 16 (or the masked tail of) lanes: clamp in float, cvtps2dq (nearest even), + zp.
VITRT_AVX512BW inline __m512i quantize16(__m512 x, __m512 inv, __m512 lo, __m512 hi) {
    // _mm512_max_ps(a, b) returns b when unordered: the argument order matches quant::max_ps.
    return _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(x, inv), lo), hi));
}

VITRT_AVX512BW void quantize_row_s8_avx512(const float* x, int64_t K, int8_t* q, float* scale) {
    __m512 amax = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) amax = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + k)), amax);
    if (k < K) amax = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(tail_mask(K - k), x + k)), amax);
    const float s = quant::act_scale_s8(_mm512_reduce_max_ps(amax));
    *scale = s;
    const __m512 inv = _mm512_set1_ps(quant::act_inverse(s)), lo = _mm512_set1_ps(-127.f), hi = _mm512_set1_ps(127.f);
    for (k = 0; k + 16 <= K; k += 16)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + k), _mm512_cvtepi32_epi8(quantize16(_mm512_loadu_ps(x + k), inv, lo, hi)));
    if (k < K) {
        const __mmask16 m = tail_mask(K - k);
        _mm512_mask_cvtepi32_storeu_epi8(q + k, m, quantize16(_mm512_maskz_loadu_ps(m, x + k), inv, lo, hi));
    }
}

VITRT_AVX512BW void quantize_u8_avx512(const float* x, int64_t n, float act_scale, int zp, uint8_t* q) {
    const __m512 inv = _mm512_set1_ps(quant::act_inverse(act_scale)), lo = _mm512_set1_ps(float(-zp)),
                 hi = _mm512_set1_ps(float(255 - zp));
    const __m512i z = _mm512_set1_epi32(zp);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i),
                         _mm512_cvtepi32_epi8(_mm512_add_epi32(quantize16(_mm512_loadu_ps(x + i), inv, lo, hi), z)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_cvtepi32_storeu_epi8(q + i, m, _mm512_add_epi32(quantize16(_mm512_maskz_loadu_ps(m, x + i), inv, lo, hi), z));
    }
}

}  // namespace

bool quant_kernels_force_scalar(bool scalar) { return g_force_scalar.exchange(scalar); }

// Small inputs run on the calling thread without entering a parallel region: libgomp allocates a
// team for every `parallel if (false)` region (a planned forward must not allocate).
constexpr int64_t kSerialBelow = 1 << 14;

void quantize_rows_s8(const float* x, int64_t M, int64_t K, int8_t* q, float* scales) {
    const bool v = use_avx512();
    auto row = [&](int64_t m) {
        if (v) quantize_row_s8_avx512(x + m * K, K, q + m * K, scales + m);
        else scales[m] = quant::quantize_row_s8(x + m * K, K, q + m * K);
    };
    if (M * K <= kSerialBelow) {
        for (int64_t m = 0; m < M; ++m) row(m);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t m = 0; m < M; ++m) row(m);
}

void quantize_u8(const float* x, int64_t n, float act_scale, int zp, uint8_t* q) {
    const bool v = use_avx512();
    constexpr int64_t kBlock = kSerialBelow;
    auto block = [&](int64_t b) {
        const int64_t i = b * kBlock, len = std::min(kBlock, n - i);
        if (v) quantize_u8_avx512(x + i, len, act_scale, zp, q + i);
        else quant::quantize_u8(x + i, len, act_scale, zp, q + i);
    };
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    if (blocks <= 1) {
        if (n > 0) block(0);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < blocks; ++b) block(b);
}

// Weights: plain loops the compiler vectorises for each ISA (w = float(q) * scale, as
// dequantize_weight computes it).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
static void dequantize_s8_row(const int8_t* q, const float* s, int64_t K, int64_t gs, float* w) {
    for (int64_t k0 = 0, g = 0; k0 < K; k0 += gs, ++g) {
        const int64_t k1 = std::min(K, k0 + gs);
        const float sc = s[g];
        for (int64_t k = k0; k < k1; ++k) w[k] = float(q[k]) * sc;
    }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
static void dequantize_s4_row(const uint8_t* q, const float* s, int64_t K, int64_t gs, float* w) {
    // gs is even, so a byte never straddles two groups.
    for (int64_t k0 = 0, g = 0; k0 < K; k0 += gs, ++g) {
        const int64_t k1 = std::min(K, k0 + gs), pairs = (k1 - k0) / 2;
        const float sc = s[g];
        const uint8_t* b = q + k0 / 2;
        float* o = w + k0;
        for (int64_t j = 0; j < pairs; ++j) {
            o[2 * j] = float(int8_t(uint8_t(b[j] << 4)) >> 4) * sc;
            o[2 * j + 1] = float(int8_t(b[j]) >> 4) * sc;
        }
        if ((k1 - k0) % 2) o[2 * pairs] = float(int8_t(uint8_t(b[pairs] << 4)) >> 4) * sc;
    }
}

void dequantize_s8(const int8_t* q, const float* scales, int64_t N, int64_t K, int group_size, float* w) {
    const int64_t gs = group_size > 0 ? group_size : K, G = (K + gs - 1) / gs;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n) dequantize_s8_row(q + n * K, scales + n * G, K, gs, w + n * K);
}

void dequantize_s4(const uint8_t* q, const float* scales, int64_t N, int64_t K, int group_size, float* w) {
    const int64_t gs = group_size > 0 ? group_size : K, G = (K + gs - 1) / gs, rb = (K + 1) / 2;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n) dequantize_s4_row(q + n * rb, scales + n * G, K, gs, w + n * K);
}

}  // namespace vitrt::cpu
