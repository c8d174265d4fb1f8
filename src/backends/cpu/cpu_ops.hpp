// CPU backend: oneDNN GEMMs (gemm_onednn.cpp) and own kernels (kernels.hpp), all cores.
// precision: f32, or bf16 GEMMs (weights stored bf16, f32 accumulation; other ops stay f32).
#pragma once

#include <memory>

#include "models/ops.hpp"

namespace vitrt {

std::unique_ptr<Ops> make_cpu_ops(int threads, DType precision);

}  // namespace vitrt
