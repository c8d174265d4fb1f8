// f32 -> bf16 conversion for the cpu backend's bf16 precision (round to nearest even), parallel
// over the OpenMP pool; the AVX512-BF16 instruction where the CPU has it.
#pragma once

#include <cstdint>

namespace vitrt::cpu {

bool cpu_has_avx512_bf16();

// y[i] = bf16(x[i]) for i < n. Finite inputs: the AVX512-BF16 path (vcvtneps2bf16) flushes
// subnormals to zero and the generic one keeps them; NaN payloads are not preserved. Activations
// never need either.
void to_bf16(const float* x, int64_t n, uint16_t* y);

}  // namespace vitrt::cpu
