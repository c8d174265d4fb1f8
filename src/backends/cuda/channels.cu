// Layout and gating kernels for convolutional models: NCHW -> NHWC, and per-(batch, channel)
// scaling with an activation (squeeze-excite).
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/dtype_traits.cuh"
#include "backends/cuda/kernels.hpp"

namespace vitrt::cuda {
namespace {

template <class Ti, class To>
__global__ void to_channels_last_kernel(const Ti* __restrict__ x, To* __restrict__ y, int64_t total, int C, int HW) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int c = int(i % C);
        const int p = int((i / C) % HW);
        const int64_t b = i / (int64_t(C) * HW);
        y[i] = from_f32<To>(to_f32(x[(b * C + c) * HW + p]));
    }
}

template <class Tx, class Ts, class Ty>
__global__ void scale_channels_kernel(const Tx* x, const Ts* __restrict__ sc, Ty* y, Activation act, int64_t total,
                                      int64_t T, int C) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int c = int(i % C);
        const int64_t b = i / (T * C);
        y[i] = from_f32<Ty>(act_f32(act, to_f32(x[i]) * to_f32(sc[b * C + c])));
    }
}

unsigned grid_for(int64_t n) { return unsigned(std::min<int64_t>((n + 255) / 256, 1 << 20)); }

}  // namespace

void to_channels_last_launch(const void* x, DType x_type, void* y, DType y_type, int64_t B, int64_t C, int64_t H,
                             int64_t W, cudaStream_t s) {
    const int64_t total = B * C * H * W;
    if (total <= 0) return;
    dispatch_dtype(x_type, [&](auto ti) {
        dispatch_dtype(y_type, [&](auto to) {
            using Ti = decltype(ti);
            using To = decltype(to);
            to_channels_last_kernel<Ti, To><<<grid_for(total), 256, 0, s>>>(static_cast<const Ti*>(x), static_cast<To*>(y),
                                                                           total, int(C), int(H * W));
        });
    });
    check_launch("to_channels_last_kernel");
}

void scale_channels_launch(const void* x, DType x_type, const void* sc, DType s_type, void* y, DType y_type,
                           Activation act, int64_t B, int64_t T, int64_t C, cudaStream_t s) {
    const int64_t total = B * T * C;
    if (total <= 0) return;
    dispatch_dtype(x_type, [&](auto tx) {
        dispatch_dtype(s_type, [&](auto ts) {
            dispatch_dtype(y_type, [&](auto ty) {
                using Tx = decltype(tx);
                using Ts = decltype(ts);
                using Ty = decltype(ty);
                scale_channels_kernel<Tx, Ts, Ty><<<grid_for(total), 256, 0, s>>>(
                    static_cast<const Tx*>(x), static_cast<const Ts*>(sc), static_cast<Ty*>(y), act, total, T, int(C));
            });
        });
    });
    check_launch("scale_channels_kernel");
}

}  // namespace vitrt::cuda
