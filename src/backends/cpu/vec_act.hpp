// Activations on 16-float vectors (vec.hpp) for own CPU kernels: erf-GELU, sigmoid, ReLU.
// erf uses Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7) on top of vexp, so GELU is within
// ~1e-7 * |x| of the double-precision reference (tests/test_backend_ops_conv.cpp).
#pragma once

#include "ops/op_options.hpp"

// vec.hpp's always-inline helpers pass 64-byte vectors by value; GCC notes that this ABI differs
// without AVX-512, which cannot matter for functions that are always inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#include "backends/cpu/vec.hpp"

namespace vitrt::cpu {

inline __attribute__((always_inline)) v16 verf(v16 x) {
    const v16 ax = x < vzero() ? -x : x;
    const v16 t = 1.0f / (1.0f + 0.3275911f * ax);
    v16 p = vbroadcast(1.061405429f);
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    const v16 y = 1.0f - p * t * vexp(-ax * ax);
    return x < vzero() ? -y : y;
}

inline __attribute__((always_inline)) v16 vgelu_erf(v16 x) { return 0.5f * x * (1.0f + verf(x * 0.70710678118654752f)); }

inline __attribute__((always_inline)) v16 vsigmoid(v16 x) {
    // exp(-|x|) never overflows; sigmoid(x) = 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below.
    const v16 e = vexp(x < vzero() ? x : -x);
    const v16 r = 1.0f / (1.0f + e);
    return x < vzero() ? e * r : r;
}

inline __attribute__((always_inline)) v16 vactivate(v16 x, Activation a) {
    switch (a) {
        case Activation::none: return x;
        case Activation::gelu_erf: return vgelu_erf(x);
        case Activation::relu: return x < vzero() ? vzero() : x;
        case Activation::sigmoid: return vsigmoid(x);
    }
    return x;
}

// First n (< 16) floats of p into a zero-padded vector, and back.
inline __attribute__((always_inline)) v16 vload_n(const float* p, int64_t n) {
    v16 v = vzero();
    std::memcpy(&v, p, size_t(n) * sizeof(float));
    return v;
}
inline __attribute__((always_inline)) void vstore_n(float* p, v16 v, int64_t n) {
    std::memcpy(p, &v, size_t(n) * sizeof(float));
}

}  // namespace vitrt::cpu

#pragma GCC diagnostic pop
