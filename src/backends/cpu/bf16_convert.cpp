#include "backends/cpu/bf16_convert.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace vitrt::cpu {

bool cpu_has_avx512_bf16() { return __builtin_cpu_supports("avx512bf16"); }

namespace {

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void to_bf16_generic(const float* x, int64_t n, uint16_t* y) {
    for (int64_t i = 0; i < n; ++i) {
        uint32_t b;
        std::memcpy(&b, x + i, 4);
        y[i] = uint16_t((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
void to_bf16_native(const float* x, int64_t n, uint16_t* y) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = __mmask16((1u << (n - i)) - 1);
        _mm256_mask_storeu_epi16(y + i, m, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

}  // namespace

void to_bf16(const float* x, int64_t n, uint16_t* y) {
    static const auto fn = cpu_has_avx512_bf16() ? to_bf16_native : to_bf16_generic;
    constexpr int64_t kBlock = 1 << 15;
    if (n <= kBlock) return fn(x, n, y);
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < (n + kBlock - 1) / kBlock; ++b) {
        const int64_t i = b * kBlock;
        fn(x + i, std::min(kBlock, n - i), y + i);
    }
}

}  // namespace vitrt::cpu
