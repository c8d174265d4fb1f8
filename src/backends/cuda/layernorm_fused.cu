// LayerNorm over the last dim, one block per row. The row is read once into shared memory (f32),
// mean and variance are two exact passes over it (block reductions via warp shuffles), then the
// normalised row is written: one read and one write of global memory, y may alias x.
//
// The residual add that precedes every LayerNorm in a ViT block is already fused into the GEMM that
// produces it (cuBLASLt beta = 1 with C = the residual stream), so this kernel needs no residual
// input. Supports any D <= 16384 (64 KiB of shared memory), any dtype pair.
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/dtype_traits.cuh"
#include "backends/cuda/kernels.hpp"

namespace vitrt::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxD = 16384;

__device__ __forceinline__ float block_sum(float v, float* red) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads();  // red may still be read from a previous reduction
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float t = 0.f;
    for (int w = 0; w < int(blockDim.x / 32); ++w) t += red[w];
    return t;
}

template <class Tx, class Ty>
__global__ void layernorm_kernel(const Tx* x, const float* __restrict__ g, const float* __restrict__ b, Ty* y,
                                 float eps, int D) {
    extern __shared__ float row[];
    __shared__ float red[32];
    const int64_t r = blockIdx.x;
    const Tx* xr = x + r * D;
    float s = 0.f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) {
        const float v = to_f32(xr[i]);
        row[i] = v;
        s += v;
    }
    const float mean = block_sum(s, red) / float(D);
    float q = 0.f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) {
        const float d = row[i] - mean;
        q += d * d;
    }
    const float inv = rsqrtf(block_sum(q, red) / float(D) + eps);
    Ty* yr = y + r * D;
    for (int i = threadIdx.x; i < D; i += blockDim.x) yr[i] = from_f32<Ty>((row[i] - mean) * inv * g[i] + b[i]);
}

}  // namespace

bool layernorm_can_run(const LayerNormParams& p) { return p.D > 0 && p.D <= kMaxD && p.rows >= 0; }

void layernorm_launch(const LayerNormParams& p, cudaStream_t s) {
    if (!layernorm_can_run(p)) throw Error("cuda layernorm: row length " + std::to_string(p.D) + " not supported (1..16384)");
    if (p.rows == 0) return;
    const size_t smem = size_t(p.D) * sizeof(float);
    dispatch_dtype(p.x_type, [&](auto tx) {
        dispatch_dtype(p.y_type, [&](auto ty) {
            using Tx = decltype(tx);
            using Ty = decltype(ty);
            auto k = layernorm_kernel<Tx, Ty>;
            if (smem > 48 * 1024) VITRT_CUDA_CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
            const int threads = p.D >= kThreads ? kThreads : (p.D >= 128 ? 128 : 64);
            k<<<unsigned(p.rows), threads, smem, s>>>(static_cast<const Tx*>(p.x), p.gamma, p.beta, static_cast<Ty*>(p.y),
                                                     p.eps, int(p.D));
        });
    });
    check_launch("layernorm_kernel");
}

}  // namespace vitrt::cuda
