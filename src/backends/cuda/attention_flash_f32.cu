// Attention dispatch, and the f32 CUDA-core flash attention (the f32/tf32 path and the path for head
// dims without a tensor-core instance).
//
// f32 kernel: a block of 4 warps owns 16 query rows (4 per warp) of one (batch, head); key/value
// tiles of 32 rows stream through shared memory. Per tile and row, lane j scores key j (full dot
// product against the row of Q in shared memory; K rows padded by one float so the 32 lanes hit 32
// banks), the warp runs the online softmax, and each lane accumulates the output dims d = lane +
// 32 v (v < 8, so head_dim <= 256) with the probabilities broadcast by shuffles.
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/dtype_traits.cuh"
#include "backends/cuda/kernels.hpp"

namespace vitrt::cuda {
namespace {

constexpr int kWarps = 4, kRowsPerWarp = 4, kBQ = kWarps * kRowsPerWarp, kBK = 32, kVPT = 8;
constexpr int64_t kMaxHeadDim = 32 * kVPT;

size_t f32_smem_bytes(int hd) { return size_t(kBQ * hd + kBK * (hd + 1) + kBK * hd) * sizeof(float); }

template <class Tio>
__global__ void __launch_bounds__(kWarps * 32) attention_f32_kernel(const Tio* __restrict__ qkv, Tio* __restrict__ out,
                                                                      int T, int H, int hd, float scale_log2) {
    extern __shared__ float sm[];
    float* Qs = sm;                   // [kBQ][hd]
    float* Ks = Qs + kBQ * hd;        // [kBK][hd + 1]
    float* Vs = Ks + kBK * (hd + 1);  // [kBK][hd]
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * kBQ;
    const int D = H * hd;
    const int64_t rs = 3LL * D;
    const Tio* base = qkv + int64_t(b) * T * rs + int64_t(h) * hd;

    for (int i = threadIdx.x; i < kBQ * hd; i += blockDim.x) {
        const int r = i / hd, d = i % hd, t = q0 + r;
        Qs[i] = t < T ? to_f32(base[t * rs + d]) : 0.f;
    }
    float m[kRowsPerWarp], l[kRowsPerWarp], o[kRowsPerWarp][kVPT];
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
        m[rr] = -INFINITY;
        l[rr] = 0.f;
#pragma unroll
        for (int v = 0; v < kVPT; ++v) o[rr][v] = 0.f;
    }

    for (int k0 = 0; k0 < T; k0 += kBK) {
        __syncthreads();
        for (int i = threadIdx.x; i < kBK * hd; i += blockDim.x) {
            const int j = i / hd, d = i % hd, t = k0 + j;
            Ks[j * (hd + 1) + d] = t < T ? to_f32(base[t * rs + D + d]) : 0.f;
            Vs[j * hd + d] = t < T ? to_f32(base[t * rs + 2 * D + d]) : 0.f;
        }
        __syncthreads();
        const bool key_ok = k0 + lane < T;
#pragma unroll
        for (int rr = 0; rr < kRowsPerWarp; ++rr) {
            const float* q = Qs + (warp * kRowsPerWarp + rr) * hd;
            const float* k = Ks + lane * (hd + 1);
            float s = 0.f;
            for (int d = 0; d < hd; ++d) s += q[d] * k[d];
            s = key_ok ? s * scale_log2 : -INFINITY;
            float mx = s;
            for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
            const float m_new = fmaxf(m[rr], mx);
            const float alpha = exp2f(m[rr] - m_new);
            const float p = exp2f(s - m_new);
            float sum = p;
            for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
            l[rr] = l[rr] * alpha + sum;
            m[rr] = m_new;
#pragma unroll
            for (int v = 0; v < kVPT; ++v) o[rr][v] *= alpha;
            const int nk = min(kBK, T - k0);
            for (int j = 0; j < nk; ++j) {
                const float pj = __shfl_sync(0xffffffffu, p, j);
#pragma unroll
                for (int v = 0; v < kVPT; ++v) {
                    const int d = lane + 32 * v;
                    if (d < hd) o[rr][v] += pj * Vs[j * hd + d];
                }
            }
        }
    }
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
        const int t = q0 + warp * kRowsPerWarp + rr;
        if (t >= T) continue;
        Tio* y = out + (int64_t(b) * T + t) * D + int64_t(h) * hd;
#pragma unroll
        for (int v = 0; v < kVPT; ++v) {
            const int d = lane + 32 * v;
            if (d < hd) y[d] = from_f32<Tio>(o[rr][v] / l[rr]);
        }
    }
}

template <class Tio> void launch_f32(const AttentionParams& p, cudaStream_t s) {
    auto k = attention_f32_kernel<Tio>;
    const size_t smem = f32_smem_bytes(int(p.head_dim));
    static bool configured = false;
    if (!configured) {
        VITRT_CUDA_CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, int(f32_smem_bytes(kMaxHeadDim))));
        configured = true;
    }
    const dim3 grid(unsigned((p.T + kBQ - 1) / kBQ), unsigned(p.heads), unsigned(p.B));
    k<<<grid, kWarps * 32, smem, s>>>(static_cast<const Tio*>(p.qkv), static_cast<Tio*>(p.out), int(p.T), int(p.heads),
                                      int(p.head_dim), p.scale * 1.4426950408889634f);
    check_launch("attention_f32_kernel");
}

}  // namespace

bool attention_tc_head_dim_supported(int64_t hd) { return hd == 32 || hd == 64 || hd == 80 || hd == 96 || hd == 128; }

bool attention_can_run(const AttentionParams& p) {
    if (p.B < 1 || p.B > 65535 || p.T < 1 || p.heads < 1 || p.heads > 65535 || p.head_dim < 1) return false;
    if (p.compute == DType::f32) return p.head_dim <= kMaxHeadDim;
    return attention_tc_head_dim_supported(p.head_dim) && (p.io_type == DType::f32 || p.io_type == p.compute);
}

void attention_f32_launch(const AttentionParams& p, cudaStream_t s) {
    dispatch_dtype(p.io_type, [&](auto t) { launch_f32<decltype(t)>(p, s); });
}

void attention_launch(const AttentionParams& p, cudaStream_t s) {
    check(attention_can_run(p), "cuda attention: unsupported configuration (B=" + std::to_string(p.B) + ", T=" +
                                    std::to_string(p.T) + ", heads=" + std::to_string(p.heads) + ", head_dim=" +
                                    std::to_string(p.head_dim) + ", " + dtype_name(p.io_type) + " in, " +
                                    dtype_name(p.compute) + " compute)");
    switch (p.compute) {
        case DType::f32: return attention_f32_launch(p, s);
        case DType::f16: return attention_tc_f16_launch(p, s);
        case DType::bf16: return attention_tc_bf16_launch(p, s);
    }
}

}  // namespace vitrt::cuda
