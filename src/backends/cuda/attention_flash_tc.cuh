// Tensor-core flash attention (WMMA 16x16x16, sm_80+), included by attention_flash_f16.cu and
// attention_flash_bf16.cu: one compute dtype per translation unit.
//
// A block of 4 warps owns 64 query rows of one (batch, head); each warp 16 rows. Key/value tiles of
// 64 rows stream through shared memory; per tile a warp computes S = Q K^T (f32 accumulators),
// runs the online softmax on its 16 rows (two lanes per row, exp2 with log2(e) folded into the
// scale), rounds P to the compute dtype and accumulates O += P V into an f32 tile in shared memory
// (WMMA accumulator layouts are opaque, so the per-row rescale of O happens there). Scores never
// reach global memory. Rows and keys past T are zero-filled and masked, so any T works.
#pragma once

#include <mma.h>

#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/dtype_traits.cuh"
#include "backends/cuda/kernels.hpp"

namespace vitrt::cuda::attn_tc {

using namespace nvcuda;

constexpr int kWarps = 4, kBQ = 64, kBK = 64;

template <int HD> struct Layout {
    static constexpr int LDQ = HD + 8, LDS = kBK + 4, LDP = kBK + 8, LDO = HD + 4;
    template <class Tc> static constexpr size_t bytes() {
        return size_t(3) * kBQ * LDQ * sizeof(Tc) + size_t(kWarps) * 16 * LDS * 4 + size_t(kWarps) * 16 * LDP * sizeof(Tc) +
               size_t(kWarps) * 16 * LDO * 4 + size_t(kBQ) * 4;
    }
};

template <class Tio, class Tc, int HD>
__global__ void __launch_bounds__(kWarps * 32) attention_tc_kernel(const Tio* __restrict__ qkv, Tio* __restrict__ out,
                                                                     int T, int H, float scale_log2) {
    using L = Layout<HD>;
    extern __shared__ __align__(128) unsigned char smem[];
    Tc* Qs = reinterpret_cast<Tc*>(smem);
    Tc* Ks = Qs + kBQ * L::LDQ;
    Tc* Vs = Ks + kBK * L::LDQ;
    float* Ss = reinterpret_cast<float*>(Vs + kBK * L::LDQ);
    Tc* Ps = reinterpret_cast<Tc*>(Ss + kWarps * 16 * L::LDS);
    float* Os = reinterpret_cast<float*>(Ps + kWarps * 16 * L::LDP);
    float* Ls = Os + kWarps * 16 * L::LDO;

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * kBQ;
    const int D = H * HD;
    const int64_t rs = 3LL * D;  // qkv row stride
    const Tio* base = qkv + int64_t(b) * T * rs + int64_t(h) * HD;
    const Tc zero = from_f32<Tc>(0.f);

    for (int i = threadIdx.x; i < kBQ * HD; i += kWarps * 32) {
        const int r = i / HD, d = i % HD, t = q0 + r;
        Qs[r * L::LDQ + d] = t < T ? from_f32<Tc>(to_f32(base[t * rs + d])) : zero;
    }
    float* Sw = Ss + warp * 16 * L::LDS;
    Tc* Pw = Ps + warp * 16 * L::LDP;
    float* Ow = Os + warp * 16 * L::LDO;
    for (int i = lane; i < 16 * L::LDO; i += 32) Ow[i] = 0.f;

    const int r = lane >> 1, c0 = (lane & 1) * 32;  // this lane's softmax row and column half
    float m = -INFINITY, l = 0.f;

    for (int k0 = 0; k0 < T; k0 += kBK) {
        __syncthreads();  // the previous tile is consumed (and Q is loaded, on the first pass)
        for (int i = threadIdx.x; i < kBK * HD; i += kWarps * 32) {
            const int j = i / HD, d = i % HD, t = k0 + j;
            Ks[j * L::LDQ + d] = t < T ? from_f32<Tc>(to_f32(base[t * rs + D + d])) : zero;
            Vs[j * L::LDQ + d] = t < T ? from_f32<Tc>(to_f32(base[t * rs + 2 * D + d])) : zero;
        }
        __syncthreads();

        // S = Q K^T for this warp's 16 rows and the tile's 64 keys.
#pragma unroll
        for (int j = 0; j < kBK / 16; ++j) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
            wmma::fill_fragment(acc, 0.f);
#pragma unroll
            for (int kk = 0; kk < HD / 16; ++kk) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, Tc, wmma::row_major> a;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, Tc, wmma::col_major> bk;
                wmma::load_matrix_sync(a, Qs + warp * 16 * L::LDQ + kk * 16, L::LDQ);
                wmma::load_matrix_sync(bk, Ks + j * 16 * L::LDQ + kk * 16, L::LDQ);
                wmma::mma_sync(acc, a, bk, acc);
            }
            wmma::store_matrix_sync(Sw + j * 16, acc, L::LDS, wmma::mem_row_major);
        }
        __syncwarp();

        // Online softmax on row r, columns [c0, c0 + 32).
        float s[32];
        float mx = -INFINITY;
#pragma unroll
        for (int c = 0; c < 32; ++c) {
            s[c] = k0 + c0 + c < T ? Sw[r * L::LDS + c0 + c] * scale_log2 : -INFINITY;
            mx = fmaxf(mx, s[c]);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        const float m_new = fmaxf(m, mx);  // finite: every tile holds at least one key < T
        const float alpha = exp2f(m - m_new);
        float sum = 0.f;
#pragma unroll
        for (int c = 0; c < 32; ++c) {
            const float p = exp2f(s[c] - m_new);
            sum += p;
            Pw[r * L::LDP + c0 + c] = from_f32<Tc>(p);
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l = l * alpha + sum;
        m = m_new;
        for (int d = (lane & 1) * (HD / 2); d < (lane & 1) * (HD / 2) + HD / 2; ++d) Ow[r * L::LDO + d] *= alpha;
        __syncwarp();

        // O += P V.
#pragma unroll
        for (int dt = 0; dt < HD / 16; ++dt) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
            wmma::load_matrix_sync(acc, Ow + dt * 16, L::LDO, wmma::mem_row_major);
#pragma unroll
            for (int kk = 0; kk < kBK / 16; ++kk) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, Tc, wmma::row_major> a;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, Tc, wmma::row_major> bv;
                wmma::load_matrix_sync(a, Pw + kk * 16, L::LDP);
                wmma::load_matrix_sync(bv, Vs + kk * 16 * L::LDQ + dt * 16, L::LDQ);
                wmma::mma_sync(acc, a, bv, acc);
            }
            wmma::store_matrix_sync(Ow + dt * 16, acc, L::LDO, wmma::mem_row_major);
        }
        __syncwarp();
    }

    if ((lane & 1) == 0) Ls[warp * 16 + r] = l;
    __syncwarp();
    for (int i = lane; i < 16 * HD; i += 32) {
        const int rr = i / HD, d = i % HD, t = q0 + warp * 16 + rr;
        if (t < T) out[(int64_t(b) * T + t) * D + int64_t(h) * HD + d] = from_f32<Tio>(Ow[rr * L::LDO + d] / Ls[warp * 16 + rr]);
    }
}

template <class Tio, class Tc, int HD> void launch_hd(const AttentionParams& p, cudaStream_t s) {
    auto k = attention_tc_kernel<Tio, Tc, HD>;
    const size_t smem = Layout<HD>::template bytes<Tc>();
    static bool configured = false;  // the attribute is per function; setting it once suffices
    if (!configured) {
        VITRT_CUDA_CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
        configured = true;
    }
    const dim3 grid(unsigned((p.T + kBQ - 1) / kBQ), unsigned(p.heads), unsigned(p.B));
    k<<<grid, kWarps * 32, smem, s>>>(static_cast<const Tio*>(p.qkv), static_cast<Tio*>(p.out), int(p.T), int(p.heads),
                                      p.scale * 1.4426950408889634f);
    check_launch("attention_tc_kernel");
}

template <class Tio, class Tc> void launch_io(const AttentionParams& p, cudaStream_t s) {
    switch (p.head_dim) {
        case 32: return launch_hd<Tio, Tc, 32>(p, s);
        case 64: return launch_hd<Tio, Tc, 64>(p, s);
        case 80: return launch_hd<Tio, Tc, 80>(p, s);
        case 96: return launch_hd<Tio, Tc, 96>(p, s);
        case 128: return launch_hd<Tio, Tc, 128>(p, s);
    }
    throw Error("cuda attention: head dim " + std::to_string(p.head_dim) + " has no tensor-core instance (32, 64, 80, 96, 128)");
}

// qkv/out either f32 (converted on load) or the compute dtype itself.
template <class Tc> void launch(const AttentionParams& p, cudaStream_t s) {
    if (p.io_type == DType::f32) return launch_io<float, Tc>(p, s);
    return launch_io<Tc, Tc>(p, s);
}

}  // namespace vitrt::cuda::attn_tc
