// CPU backend: oneDNN GEMMs (gemm_onednn.cpp) and own kernels (kernels.hpp), all cores.
// Linear weights in the precision their WeightSpec asks (f32, bf16); attention in `attention`
// precision (f32, or bf16 products with f32 accumulation where the CPU has AVX512-BF16).
#pragma once

#include <memory>

#include "ops/ops.hpp"

namespace vitrt {

std::unique_ptr<Ops> make_cpu_ops(int threads, Precision attention = Precision::f32);

}  // namespace vitrt
