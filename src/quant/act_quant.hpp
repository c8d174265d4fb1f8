// Activation quantization, the one definition both backends use (the ref twin calls these scalar
// functions; the cpu backend's vectorised kernels, backends/cpu/act_quant.cpp, must produce the
// same bytes: multiply by the same float reciprocal, clamp in float, round to nearest even
// (cvtps2dq in the default MXCSR = std::nearbyint in the default rounding mode)).
//
//   w8a8-dynamic, per token (row): s = max_k |x[k]| / 127 (1 for an all-zero row),
//                q[k] = clamp(round(x[k] * (1 / s)), -127, 127) as s8;  x ~ q * s.
//   w8a8 (static), per tensor:     q = clamp(round(x * (1 / act_scale)) + zp, 0, 255) as u8;
//                                  x ~ (q - zp) * act_scale.
// Clamping before rounding equals rounding before clamping (the bounds are integers). The
// comparisons are written as _mm512_max_ps / _mm512_min_ps evaluate them (second operand when
// unordered), so NaN inputs give the same bytes in both (the row maximum skips NaNs; a NaN
// element quantizes to the lower bound).
// Tests: tests/quant/test_act_quant.cpp (scalar vs vectorised bit-exactness, ties, zero rows).
#pragma once

#include <cmath>
#include <cstdint>

namespace vitrt::quant {

// _mm512_max_ps(a, b) / _mm512_min_ps(a, b), NaN handling included.
inline float max_ps(float a, float b) { return a > b ? a : b; }
inline float min_ps(float a, float b) { return a < b ? a : b; }

// The per-token scale for a row whose largest magnitude is amax.
inline float act_scale_s8(float amax) { return amax > 0.f ? amax / 127.f : 1.f; }
// The multiplier applied to x (one float division, shared by every kernel).
inline float act_inverse(float scale) { return 1.f / scale; }

// One element: round(clamp(v, lo, hi)) with v = x * inv; lo, hi integers.
inline int quantize_value(float x, float inv, float lo, float hi) {
    return int(std::nearbyint(min_ps(max_ps(x * inv, lo), hi)));
}

// Row max |x| as the vectorised kernel computes it (order does not matter for max).
inline float row_amax(const float* x, int64_t K) {
    float amax = 0.f;
    for (int64_t k = 0; k < K; ++k) amax = max_ps(std::fabs(x[k]), amax);
    return amax;
}

// q[0..K) = the s8 per-token quantization of x; returns the scale s.
inline float quantize_row_s8(const float* x, int64_t K, int8_t* q) {
    const float s = act_scale_s8(row_amax(x, K)), inv = act_inverse(s);
    for (int64_t k = 0; k < K; ++k) q[k] = int8_t(quantize_value(x[k], inv, -127.f, 127.f));
    return s;
}

// q[0..n) = the static u8 quantization of x with act_scale and zero point zp (0..255).
inline void quantize_u8(const float* x, int64_t n, float act_scale, int zp, uint8_t* q) {
    const float inv = act_inverse(act_scale), lo = float(-zp), hi = float(255 - zp);
    for (int64_t i = 0; i < n; ++i) q[i] = uint8_t(quantize_value(x[i], inv, lo, hi) + zp);
}

}  // namespace vitrt::quant
