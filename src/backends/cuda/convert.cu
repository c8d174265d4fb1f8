// Element-wise dtype conversion (f32 / f16 / bf16, round to nearest even): GEMM inputs and biases
// in another dtype than the GEMM's. Memory-bound, grid-stride loop.
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

}  // namespace vitrt::cuda
