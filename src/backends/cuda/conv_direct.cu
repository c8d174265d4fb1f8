// Direct NHWC convolution for FastViT's depthwise / grouped / channel-multiplier convolutions (and,
// slowly, any dense one): one thread per output element (b, oy, ox, oc) with oc fastest, so
// neighbouring threads read neighbouring input channels; f32 accumulation, fused bias, activation
// and residual. Weights OHWI. Dense convolutions normally take conv_im2col.cu + cuBLASLt instead.
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/dtype_traits.cuh"
#include "backends/cuda/kernels.hpp"

namespace vitrt::cuda {
namespace {

template <class Tx, class Tw, class Ty>
__global__ void conv_direct_kernel(const Tx* __restrict__ x, const Tw* __restrict__ w, const float* __restrict__ bias,
                                   const Ty* residual, Ty* y, Activation act, int64_t total, int H, int W, int C, int O,
                                   int KH, int KW, int Ho, int Wo, int stride, int pad, int Ig, int Og) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int oc = int(i % O);
        const int ox = int((i / O) % Wo), oy = int((i / (int64_t(O) * Wo)) % Ho);
        const int64_t b = i / (int64_t(O) * Wo * Ho);
        const int c0 = oc / Og * Ig;
        float acc = 0.f;
        for (int ky = 0; ky < KH; ++ky) {
            const int iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= H) continue;
            for (int kx = 0; kx < KW; ++kx) {
                const int ix = ox * stride - pad + kx;
                if (ix < 0 || ix >= W) continue;
                const Tx* xp = x + ((b * H + iy) * W + ix) * C + c0;
                const Tw* wp = w + ((int64_t(oc) * KH + ky) * KW + kx) * Ig;
                for (int ic = 0; ic < Ig; ++ic) acc += to_f32(xp[ic]) * to_f32(wp[ic]);
            }
        }
        if (bias) acc += bias[oc];
        acc = act_f32(act, acc);
        if (residual) acc += to_f32(residual[i]);
        y[i] = from_f32<Ty>(acc);
    }
}

unsigned grid_for(int64_t n) { return unsigned(std::min<int64_t>((n + 255) / 256, 1 << 20)); }

}  // namespace

bool conv_direct_can_run(const ConvParams& p) {
    return p.groups >= 1 && p.C % p.groups == 0 && p.O % p.groups == 0 && p.stride >= 1 && p.pad >= 0 && p.Ho >= 1 &&
           p.Wo >= 1 && (p.x_type == DType::f32 || p.x_type == p.w_type);
}

void conv_direct_launch(const ConvParams& p, cudaStream_t s) {
    check(conv_direct_can_run(p), "cuda conv2d: unsupported geometry for the direct kernel");
    const int64_t total = p.B * p.Ho * p.Wo * p.O;
    if (total <= 0) return;
    dispatch_dtype(p.x_type, [&](auto tx) {
        dispatch_dtype(p.w_type, [&](auto tw) {
            dispatch_dtype(p.y_type, [&](auto ty) {
                using Tx = decltype(tx);
                using Tw = decltype(tw);
                using Ty = decltype(ty);
                conv_direct_kernel<Tx, Tw, Ty><<<grid_for(total), 256, 0, s>>>(
                    static_cast<const Tx*>(p.x), static_cast<const Tw*>(p.w), p.bias, static_cast<const Ty*>(p.residual),
                    static_cast<Ty*>(p.y), p.act, total, int(p.H), int(p.W), int(p.C), int(p.O), int(p.KH), int(p.KW),
                    int(p.Ho), int(p.Wo), int(p.stride), int(p.pad), int(p.C / p.groups), int(p.O / p.groups));
            });
        });
    });
    check_launch("conv_direct_kernel");
}

}  // namespace vitrt::cuda
