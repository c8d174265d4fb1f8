// The GEMM epilogue cuBLASLt does not fuse: bias, exact erf-GELU / sigmoid, residual, in one pass
// over the GEMM output (op_adapters_gemm.cpp says when it runs). Memory-bound, grid-stride loop.
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/dtype_traits.cuh"
#include "backends/cuda/kernels.hpp"

namespace vitrt::cuda {
namespace {

constexpr int kThreads = 256;

unsigned grid_for(int64_t n) {
    const int64_t b = (n + kThreads - 1) / kThreads;
    return unsigned(b < 65535 * 8 ? (b > 0 ? b : 1) : 65535 * 8);
}

template <class Tt, class Ty>
__global__ void gemm_epilogue_kernel(const Tt* t, const float* __restrict__ bias, const Ty* residual, Ty* y,
                                     Activation act, int64_t M, int64_t N) {
    const int64_t total = M * N;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        float v = to_f32(t[i]);
        if (bias) v += bias[i % N];
        v = act_f32(act, v);
        if (residual) v += to_f32(residual[i]);
        y[i] = from_f32<Ty>(v);
    }
}

}  // namespace

void gemm_epilogue_launch(const EpilogueParams& p, cudaStream_t s) {
    if (p.M * p.N <= 0) return;
    dispatch_dtype(p.t_type, [&](auto tt) {
        dispatch_dtype(p.y_type, [&](auto ty) {
            using Tt = decltype(tt);
            using Ty = decltype(ty);
            gemm_epilogue_kernel<Tt, Ty><<<grid_for(p.M * p.N), kThreads, 0, s>>>(
                static_cast<const Tt*>(p.t), p.bias, static_cast<const Ty*>(p.residual), static_cast<Ty*>(p.y), p.act,
                p.M, p.N);
        });
    });
    check_launch("gemm_epilogue_kernel");
}

}  // namespace vitrt::cuda
