// Multi-head attention for the cpu backend, f32 products, fused per task (attention_common.hpp):
//   pack K^T and V of the head once; per chunk of query rows: S = Q K^T * scale -> exp(S - max)
//   -> O = (P V) / sum.
// Register-blocked micro-kernels over 16-float vectors (GCC vector extensions: zmm on AVX-512,
// 2 x ymm on AVX2, xmm otherwise), compiled per ISA and picked at run time. Any head_dim (a
// scalar path above 128); any T (keys padded to 16 with zeros, padded probabilities exactly 0).
// Reference twin: RefOps::attention (tests/test_backend_ops.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/attention_common.hpp"
#include "backends/cpu/kernels.hpp"

namespace vitrt::cpu {
namespace {

using attn::kChunk;

struct Scratch {
    std::vector<float> kt, v, s, inv;  // K^T [hd][Tp], V [Tp][hdp], scores [kChunk][Tp], 1/sum [kChunk]
    void grow(int64_t hd, int64_t Tp, int64_t hdp) {
        if (int64_t(kt.size()) < hd * Tp) kt.resize(size_t(hd * Tp));
        if (int64_t(v.size()) < Tp * hdp) v.resize(size_t(Tp * hdp));
        if (int64_t(s.size()) < kChunk * Tp) s.resize(size_t(kChunk * Tp));
        if (inv.size() < size_t(kChunk)) inv.resize(size_t(kChunk));
    }
};

// Scores of rows [0, n) of the chunk (n a multiple of 6 after clamping pointers), 6 rows x 16 keys
// per micro-tile: 6 accumulators, one K^T load and six broadcasts per step.
inline __attribute__((always_inline)) void scores_f32(const float* q0, int64_t qstride, int64_t n, const float* kt,
                                                      int64_t Tp, int64_t hd, float scale, float* s) {
    constexpr int R = 6;
    for (int64_t r = 0; r < n; r += R) {
        const float* q[R];
        for (int i = 0; i < R; ++i) q[i] = q0 + std::min<int64_t>(r + i, n - 1) * qstride;
        for (int64_t j = 0; j < Tp; j += 16) {
            v16 a[R] = {};
            for (int64_t e = 0; e < hd; ++e) {
                const v16 k = vload(kt + e * Tp + j);
                for (int i = 0; i < R; ++i) a[i] += q[i][e] * k;
            }
            for (int i = 0; i < R && r + i < n; ++i) vstore(s + (r + i) * Tp + j, a[i] * scale);
        }
    }
}

// out rows [0, n) = P V * inv, R rows x NV vectors of features per micro-tile.
template <int NV>
inline __attribute__((always_inline)) void pv_f32(const float* s, int64_t Tp, int64_t n, int64_t T, const float* vv,
                                                  const float* inv, int64_t hd, float* out, int64_t ostride) {
    constexpr int R = NV <= 4 ? 4 : NV <= 6 ? 3 : 2;
    constexpr int hdp = 16 * NV;
    for (int64_t r = 0; r < n; r += R) {
        v16 acc[R][NV] = {};
        const float* p[R];
        for (int i = 0; i < R; ++i) p[i] = s + std::min<int64_t>(r + i, n - 1) * Tp;
        for (int64_t j = 0; j < T; ++j) {
            const float* vr = vv + j * hdp;
            for (int c = 0; c < NV; ++c) {
                const v16 x = vload(vr + 16 * c);
                for (int i = 0; i < R; ++i) acc[i][c] += p[i][j] * x;
            }
        }
        for (int i = 0; i < R && r + i < n; ++i) {
            float tmp[hdp];
            for (int c = 0; c < NV; ++c) vstore(tmp + 16 * c, acc[i][c] * inv[r + i]);
            std::memcpy(out + (r + i) * ostride, tmp, size_t(hd) * sizeof(float));
        }
    }
}

template <int NV>
VITRT_ISA_CLONES void attention_task(const float* qkv, int64_t T, int64_t D3, int64_t koff, int64_t voff,
                                     int64_t hd, float scale, int64_t row0, int64_t row1, Scratch& sc, float* out,
                                     int64_t ostride) {
    constexpr int64_t hdp = 16 * NV;
    const int64_t Tp = attn::pad16(T);
    float* kt = sc.kt.data();
    float* vv = sc.v.data();
    for (int64_t e = 0; e < hd; ++e) {  // K^T, zero-padded keys
        float* dst = kt + e * Tp;
        for (int64_t j = 0; j < T; ++j) dst[j] = qkv[j * D3 + koff + e];
        for (int64_t j = T; j < Tp; ++j) dst[j] = 0.f;
    }
    for (int64_t j = 0; j < T; ++j) {  // V, zero-padded features (padded keys are never read)
        float* dst = vv + j * hdp;
        std::memcpy(dst, qkv + j * D3 + voff, size_t(hd) * sizeof(float));
        for (int64_t e = hd; e < hdp; ++e) dst[e] = 0.f;
    }
    for (int64_t r = row0; r < row1; r += kChunk) {
        const int64_t n = std::min(kChunk, row1 - r);
        scores_f32(qkv + r * D3, D3, n, kt, Tp, hd, scale, sc.s.data());
        attn::softmax_rows(sc.s.data(), n, T, Tp, sc.inv.data());
        pv_f32<NV>(sc.s.data(), Tp, n, T, vv, sc.inv.data(), hd, out + r * ostride, ostride);
    }
}

using TaskFn = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float, int64_t, int64_t, Scratch&,
                        float*, int64_t);

// Scalar fallback for head_dim > 16 * kMaxHdVec (no ViT uses it; kept exact and simple).
void attention_rows_scalar(const float* qkv, int64_t T, int64_t D3, int64_t koff, int64_t voff, int64_t hd,
                           float scale, int64_t row0, int64_t row1, float* s, float* out, int64_t out_stride) {
    for (int64_t i = row0; i < row1; ++i) {
        const float* q = qkv + i * D3;
        float mx = -INFINITY;
        for (int64_t j = 0; j < T; ++j) {
            float acc = 0.f;
            for (int64_t e = 0; e < hd; ++e) acc += q[e] * qkv[j * D3 + koff + e];
            s[j] = acc * scale;
            mx = std::max(mx, s[j]);
        }
        float sum = 0.f;
        for (int64_t j = 0; j < T; ++j) sum += (s[j] = std::exp(s[j] - mx));
        float* o = out + i * out_stride;
        for (int64_t e = 0; e < hd; ++e) {
            float acc = 0.f;
            for (int64_t j = 0; j < T; ++j) acc += s[j] * qkv[j * D3 + voff + e];
            o[e] = acc / sum;
        }
    }
}

}  // namespace

void attention_f32(const float* qkv, int64_t B, int64_t T, int64_t heads, int64_t hd, float scale, float* out,
                   int64_t query_rows) {
    const int64_t Tq = query_rows < 0 ? T : std::min(T, query_rows);
    const int64_t D = heads * hd, D3 = 3 * D;
    const int64_t Tp = attn::pad16(T), nv = (hd + 15) / 16;
    const TaskFn task = attn::task_for<TaskFn>(nv, [](auto c) -> TaskFn { return attention_task<decltype(c)::value>; });
    thread_local Scratch sc;  // grows once per thread, then reused
    attn::for_each_task(
        B, heads, Tq, [&] { task ? sc.grow(hd, Tp, 16 * nv) : sc.s.resize(std::max(sc.s.size(), size_t(T))); },
        [&](int64_t b, int64_t h, int64_t r0, int64_t r1) {
            const float* base = qkv + b * T * D3 + h * hd;
            float* o = out + b * T * D + h * hd;
            if (task)
                task(base, T, D3, D, 2 * D, hd, scale, r0, r1, sc, o, D);
            else
                attention_rows_scalar(base, T, D3, D, 2 * D, hd, scale, r0, r1, sc.s.data(), o, D);
        });
}

}  // namespace vitrt::cpu
