// Patch embedding, part 1: im2col of non-overlapping P x P patches (the conv with stride = kernel
// is then one GEMM, run by the linear op on the result). One thread per output element, so writes
// are coalesced; reads are contiguous along kx. Converts to the GEMM's input dtype on the way.
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/dtype_traits.cuh"
#include "backends/cuda/kernels.hpp"

namespace vitrt::cuda {
namespace {

template <class Ti, class To>
__global__ void patchify_kernel(const Ti* __restrict__ img, To* __restrict__ cols, int64_t total, int C, int H, int W,
                                int P, int gw, int gh) {
    const int F = C * P * P;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int f = int(i % F);
        const int64_t row = i / F;
        const int gx = int(row % gw), gy = int((row / gw) % gh);
        const int64_t b = row / (int64_t(gw) * gh);
        const int kx = f % P, ky = (f / P) % P, c = f / (P * P);
        cols[i] = from_f32<To>(to_f32(img[((b * C + c) * H + gy * P + ky) * W + gx * P + kx]));
    }
}

}  // namespace

void patchify_launch(const PatchifyParams& p, cudaStream_t s) {
    const int64_t gh = p.H / p.P, gw = p.W / p.P, total = p.B * gh * gw * p.C * p.P * p.P;
    if (total <= 0) return;
    dispatch_dtype(p.img_type, [&](auto ti) {
        dispatch_dtype(p.cols_type, [&](auto to) {
            using Ti = decltype(ti);
            using To = decltype(to);
            const unsigned grid = unsigned(std::min<int64_t>((total + 255) / 256, 1 << 20));
            patchify_kernel<Ti, To><<<grid, 256, 0, s>>>(static_cast<const Ti*>(p.img), static_cast<To*>(p.cols), total,
                                                         int(p.C), int(p.H), int(p.W), int(p.P), int(gw), int(gh));
        });
    });
    check_launch("patchify_kernel");
}

}  // namespace vitrt::cuda
