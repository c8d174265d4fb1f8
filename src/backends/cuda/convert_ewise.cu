// Element-wise kernels: dtype conversion and the linear epilogue cuBLASLt cannot fuse
// (exact erf-GELU, sigmoid, LayerScale with a residual). Memory-bound, grid-stride loops.
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

template <class Ti, class To>
__global__ void convert_kernel(const Ti* __restrict__ x, To* __restrict__ y, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        y[i] = from_f32<To>(to_f32(x[i]));
}

template <class Tt, class Ty>
__global__ void epilogue_kernel(const Tt* t, const float* __restrict__ scale, const Ty* residual, Ty* y,
                                Activation act, int64_t M, int64_t N) {
    const int64_t total = M * N;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        float v = act_f32(act, to_f32(t[i]));
        if (scale) v *= scale[i % N];
        if (residual) v += to_f32(residual[i]);
        y[i] = from_f32<Ty>(v);
    }
}

}  // namespace

void convert_launch(const ConvertParams& p, cudaStream_t s) {
    if (p.n <= 0) return;
    dispatch_dtype(p.x_type, [&](auto ti) {
        dispatch_dtype(p.y_type, [&](auto to) {
            using Ti = decltype(ti);
            using To = decltype(to);
            convert_kernel<Ti, To><<<grid_for(p.n), kThreads, 0, s>>>(static_cast<const Ti*>(p.x), static_cast<To*>(p.y), p.n);
        });
    });
    check_launch("convert_kernel");
}

void epilogue_launch(const EpilogueParams& p, cudaStream_t s) {
    if (p.M * p.N <= 0) return;
    dispatch_dtype(p.t_type, [&](auto tt) {
        dispatch_dtype(p.y_type, [&](auto ty) {
            using Tt = decltype(tt);
            using Ty = decltype(ty);
            epilogue_kernel<Tt, Ty><<<grid_for(p.M * p.N), kThreads, 0, s>>>(
                static_cast<const Tt*>(p.t), p.scale, static_cast<const Ty*>(p.residual), static_cast<Ty*>(p.y), p.act,
                p.M, p.N);
        });
    });
    check_launch("epilogue_kernel");
}

}  // namespace vitrt::cuda
