// The cpu backend's quantization kernels (activations to s8/u8, integer weights to f32).
// Raw pointers + sizes; parallel over rows with OpenMP; AVX-512 (F+BW) when the CPU has it, else
// the scalar definitions of src/quant/act_quant.hpp, chosen at run time. The activation
// quantizers produce exactly the bytes of quant::quantize_row_s8 / quant::quantize_u8 (tested
// bit for bit in tests/quant/test_act_quant.cpp, ties included).
#pragma once

#include <cstdint>

namespace vitrt::cpu {

// Per token: q[m, :] = s8 quantization of x[m, :], scales[m] = its scale (x, q: [M, K] row-major).
void quantize_rows_s8(const float* x, int64_t M, int64_t K, int8_t* q, float* scales);
// Per tensor: q = u8 quantization of x[0..n) with act_scale and zero point zp.
void quantize_u8(const float* x, int64_t n, float act_scale, int zp, uint8_t* q);
// Forces the scalar kernels (tests compare both on one machine); returns the previous setting.
bool quant_kernels_force_scalar(bool scalar);

// Dequantized weights, the f32 [N, K] matrix w = q * scale that QuantizedWeight stands for:
// s8 q [N, K] or packed s4 q [N, ceil(K / 2)] (low nibble first), scales [N, G] with
// G = ceil(K / group_size) (group_size 0: one scale per row). group_size must be even for s4.
void dequantize_s8(const int8_t* q, const float* scales, int64_t N, int64_t K, int group_size, float* w);
void dequantize_s4(const uint8_t* q, const float* scales, int64_t N, int64_t K, int group_size, float* w);

}  // namespace vitrt::cpu
