// 16-float SIMD vectors for own CPU kernels, written once with GCC vector extensions: a function
// marked VITRT_ISA_CLONES is compiled for AVX-512 (x86-64-v4), AVX2+FMA (x86-64-v3) and baseline
// SSE2, and the loader picks the best the CPU has at run time (no build-time -march).
#pragma once

#include <cstdint>
#include <cstring>

namespace vitrt::cpu {

#define VITRT_ISA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

inline __attribute__((always_inline)) v16 vload(const float* p) {
    v16 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline __attribute__((always_inline)) void vstore(float* p, v16 v) { std::memcpy(p, &v, sizeof v); }
inline __attribute__((always_inline)) v16 vzero() { return v16{}; }
inline __attribute__((always_inline)) v16 vbroadcast(float x) { return v16{} + x; }
inline __attribute__((always_inline)) float vsum(v16 v) {
    float s = 0.f;
    for (int i = 0; i < 16; ++i) s += v[i];
    return s;
}

// exp(x) for x <= 88: Cody-Waite range reduction to r in [-ln2/2, ln2/2] and a degree-7 Taylor
// polynomial; relative error < 2e-7 (tests compare against the double-precision reference).
inline __attribute__((always_inline)) v16 vexp(v16 x) {
    const v16 lo = vbroadcast(-87.3f);
    x = x < lo ? lo : x;
    const v16 magic = vbroadcast(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
    const v16 n = (x * 1.44269504088896341f + magic) - magic;
    const v16 r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    v16 p = vbroadcast(1.0f / 5040.0f);
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const v16i bits = (__builtin_convertvector(n, v16i) + 127) << 23;
    v16 scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

}  // namespace vitrt::cpu
