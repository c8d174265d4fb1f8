// im2col for dense (groups = 1) NHWC convolutions: cols [B * Ho * Wo, KH * KW * C] in (ky, kx, c)
// order, zeros where the window leaves the image, converted to the GEMM's input dtype; the cuBLASLt
// GEMM with the OHWI weight follows (op_adapters_gemm.cpp). One thread per output element.
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/dtype_traits.cuh"
#include "backends/cuda/kernels.hpp"

namespace vitrt::cuda {
namespace {

template <class Tx, class Ty>
__global__ void im2col_nhwc_kernel(const Tx* __restrict__ x, Ty* __restrict__ cols, int64_t total, int H, int W, int C,
                                   int KH, int KW, int Ho, int Wo, int stride, int pad) {
    const int F = KH * KW * C;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int f = int(i % F);
        const int64_t row = i / F;
        const int ox = int(row % Wo), oy = int((row / Wo) % Ho);
        const int64_t b = row / (int64_t(Wo) * Ho);
        const int c = f % C, kx = (f / C) % KW, ky = f / (C * KW);
        const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
        const bool in = iy >= 0 && iy < H && ix >= 0 && ix < W;
        cols[i] = from_f32<Ty>(in ? to_f32(x[((b * H + iy) * W + ix) * C + c]) : 0.f);
    }
}

unsigned grid_for(int64_t n) { return unsigned(std::min<int64_t>((n + 255) / 256, 1 << 20)); }

}  // namespace

void conv_im2col_launch(const ConvParams& p, void* cols, DType cols_type, cudaStream_t s) {
    const int64_t total = p.B * p.Ho * p.Wo * p.KH * p.KW * p.C;
    if (total <= 0) return;
    dispatch_dtype(p.x_type, [&](auto tx) {
        dispatch_dtype(cols_type, [&](auto ty) {
            using Tx = decltype(tx);
            using Ty = decltype(ty);
            im2col_nhwc_kernel<Tx, Ty><<<grid_for(total), 256, 0, s>>>(static_cast<const Tx*>(p.x), static_cast<Ty*>(cols),
                                                                      total, int(p.H), int(p.W), int(p.C), int(p.KH),
                                                                      int(p.KW), int(p.Ho), int(p.Wo), int(p.stride),
                                                                      int(p.pad));
        });
    });
    check_launch("im2col_nhwc_kernel");
}

}  // namespace vitrt::cuda
