// Token sequence kernels: assembly (prefix tokens + patch tokens + position embedding, one pass)
// and pooling over tokens (class-token select or mean), f32 accumulation.
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/dtype_traits.cuh"
#include "backends/cuda/kernels.hpp"

namespace vitrt::cuda {
namespace {

template <class Tp, class To>
__global__ void assemble_kernel(const Tp* __restrict__ patches, const float* __restrict__ prefix,
                                const float* __restrict__ pos, bool skip, To* __restrict__ out, int64_t total, int N,
                                int Pf, int D) {
    const int T = Pf + N;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int d = int(i % D);
        const int t = int((i / D) % T);
        const int64_t b = i / (int64_t(D) * T);
        float v = t < Pf ? prefix[t * D + d] : to_f32(patches[(b * N + t - Pf) * D + d]);
        if (!skip) v += pos[int64_t(t) * D + d];
        else if (t >= Pf) v += pos[int64_t(t - Pf) * D + d];
        out[i] = from_f32<To>(v);
    }
}

template <class Ti, class To>
__global__ void pool_kernel(const Ti* __restrict__ x, To* __restrict__ out, int64_t B, int T, int D, int first, int count) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < B * D; i += int64_t(gridDim.x) * blockDim.x) {
        const int d = int(i % D);
        const int64_t b = i / D;
        const Ti* p = x + (b * T + first) * D + d;
        float acc = 0.f;
        for (int t = 0; t < count; ++t) acc += to_f32(p[int64_t(t) * D]);
        out[i] = from_f32<To>(acc / float(count));
    }
}

unsigned grid_for(int64_t n) { return unsigned(std::min<int64_t>((n + 255) / 256, 1 << 20)); }

}  // namespace

void assemble_tokens_launch(const AssembleParams& p, cudaStream_t s) {
    const int64_t total = p.B * (p.Pf + p.N) * p.D;
    if (total <= 0) return;
    dispatch_dtype(p.patches_type, [&](auto tp) {
        dispatch_dtype(p.out_type, [&](auto to) {
            using Tp = decltype(tp);
            using To = decltype(to);
            assemble_kernel<Tp, To><<<grid_for(total), 256, 0, s>>>(static_cast<const Tp*>(p.patches), p.prefix, p.pos,
                                                                   p.pos_skips_prefix, static_cast<To*>(p.out), total,
                                                                   int(p.N), int(p.Pf), int(p.D));
        });
    });
    check_launch("assemble_kernel");
}

void pool_tokens_launch(const PoolParams& p, cudaStream_t s) {
    if (p.B * p.D <= 0) return;
    dispatch_dtype(p.x_type, [&](auto ti) {
        dispatch_dtype(p.out_type, [&](auto to) {
            using Ti = decltype(ti);
            using To = decltype(to);
            pool_kernel<Ti, To><<<grid_for(p.B * p.D), 256, 0, s>>>(static_cast<const Ti*>(p.x), static_cast<To*>(p.out), p.B,
                                                                   int(p.T), int(p.D), int(p.first), int(p.count));
        });
    });
    check_launch("pool_kernel");
}

}  // namespace vitrt::cuda
