// CPU backend: oneDNN GEMMs (gemm_onednn.cpp) and own kernels (kernels.hpp), f32, all cores.
#pragma once

#include <memory>

#include "models/ops.hpp"

namespace vitrt {

std::unique_ptr<Ops> make_cpu_ops(int threads);

}  // namespace vitrt
