// Multi-head attention with bf16 products and f32 accumulation (AVX512-BF16 vdpbf16ps), for the
// cpu backend at --precision bf16. Same task structure as attention.cpp (attention_common.hpp);
// Q, K, V and the probabilities are rounded to bf16 (round to nearest even), scores, max, exp,
// sums and outputs stay f32. Layouts, so that one vdpbf16ps does 16 outputs x 2 products:
//   Q   [kChunk][hd2]  32-bit pairs (q[2p], q[2p+1]) per row, broadcast one pair at a time
//   K   [hd2][Tp]      pair p of key j at [p][j]: 16 keys per vector
//   P   [kChunk][Tp2]  pairs of consecutive keys (p[2m], p[2m+1])
//   V   [Tp2][hdp]     pair m of feature e at [m][e]: (v[2m][e], v[2m+1][e]), 16 features per vector
// hd2 = ceil(hd / 2), Tp = T padded to 16 (zeros), Tp2 = Tp / 2, hdp = hd padded to 16.
// Reference twin: RefOps::attention on bf16-rounded inputs (tests/test_backend_ops.cpp).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/attention_common.hpp"
#include "backends/cpu/kernels.hpp"
#include "vitrt/error.hpp"

#define VITRT_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma")))

namespace vitrt::cpu {

namespace {

using attn::kChunk;

struct Scratch {
    std::vector<uint32_t> k, v, q, p;  // see the layouts above
    std::vector<float> s, inv;
    void grow(int64_t hd2, int64_t Tp, int64_t hdp) {
        if (int64_t(k.size()) < hd2 * Tp) k.resize(size_t(hd2 * Tp));
        if (int64_t(v.size()) < Tp / 2 * hdp) v.resize(size_t(Tp / 2 * hdp));
        if (int64_t(q.size()) < kChunk * hd2) q.resize(size_t(kChunk * hd2));
        if (int64_t(p.size()) < kChunk * Tp / 2) p.resize(size_t(kChunk * Tp / 2));
        if (int64_t(s.size()) < kChunk * Tp) s.resize(size_t(kChunk * Tp));
        if (inv.size() < size_t(kChunk)) inv.resize(size_t(kChunk));
    }
};

inline __mmask16 first(int64_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

// 16 floats (fewer: masked, the rest 0) -> 16 bf16, round to nearest even.
VITRT_BF16_TARGET inline __m256i cvt16(const float* x, int64_t n) {
    return (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(first(n), x));
}

// x[0, n) -> bf16 pairs at y[0, ceil(n / 2)) (an odd n gets a 0 partner).
VITRT_BF16_TARGET inline void pairs_row(const float* x, int64_t n, uint32_t* y) {
    for (int64_t e = 0; e < n; e += 16) {
        const int64_t m = std::min<int64_t>(16, n - e);
        _mm256_mask_storeu_epi16(reinterpret_cast<uint16_t*>(y + e / 2), first(m + (m & 1)), cvt16(x + e, m));
    }
}

template <int NV>
VITRT_BF16_TARGET void attention_task(const float* qkv, int64_t T, int64_t D3, int64_t koff, int64_t voff,
                                      int64_t hd, float scale, int64_t row0, int64_t row1, Scratch& sc, float* out,
                                      int64_t ostride) {
    constexpr int64_t hdp = 16 * NV;
    const int64_t Tp = attn::pad16(T), Tp2 = Tp / 2, hd2 = (hd + 1) / 2;
    uint32_t* kp = sc.k.data();
    uint32_t* vp = sc.v.data();
    // Pack K: pair p of key j at kp[p * Tp + j]; padded keys 0.
    for (int64_t j = 0; j < T; ++j) {
        uint32_t row[64];  // hd <= 128
        pairs_row(qkv + j * D3 + koff, hd, row);
        for (int64_t p = 0; p < hd2; ++p) kp[p * Tp + j] = row[p];
    }
    for (int64_t p = 0; p < hd2; ++p)
        for (int64_t j = T; j < Tp; ++j) kp[p * Tp + j] = 0;
    // Pack V: keys 2m, 2m+1 interleaved per feature; padded keys and features 0.
    const __m512i interleave = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38,
                                                6, 37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    for (int64_t m = 0; m < Tp2; ++m) {
        const int64_t j0 = 2 * m, j1 = 2 * m + 1;
        uint32_t* dst = vp + m * hdp;
        for (int64_t e = 0; e < hdp; e += 16) {
            const int64_t n = std::max<int64_t>(0, hd - e);
            const __m512i a = _mm512_castsi256_si512(j0 < T ? cvt16(qkv + j0 * D3 + voff + e, n) : _mm256_setzero_si256());
            const __m512i b = _mm512_castsi256_si512(j1 < T ? cvt16(qkv + j1 * D3 + voff + e, n) : _mm256_setzero_si256());
            _mm512_storeu_si512(dst + e, _mm512_permutex2var_epi16(a, interleave, b));
        }
    }
    float* s = sc.s.data();
    for (int64_t r = row0; r < row1; r += kChunk) {
        const int64_t n = std::min(kChunk, row1 - r);
        // Q rows as pairs.
        for (int64_t i = 0; i < n; ++i) pairs_row(qkv + (r + i) * D3, hd, sc.q.data() + i * hd2);
        // Scores: 6 rows x 16 keys per micro-tile.
        constexpr int RS = 6;
        for (int64_t i0 = 0; i0 < n; i0 += RS) {
            const uint32_t* q[RS];
            for (int i = 0; i < RS; ++i) q[i] = sc.q.data() + std::min<int64_t>(i0 + i, n - 1) * hd2;
            for (int64_t j = 0; j < Tp; j += 16) {
                __m512 a[RS];
                for (int i = 0; i < RS; ++i) a[i] = _mm512_setzero_ps();
                for (int64_t p = 0; p < hd2; ++p) {
                    const __m512bh k = (__m512bh)_mm512_loadu_si512(kp + p * Tp + j);
                    for (int i = 0; i < RS; ++i)
                        a[i] = _mm512_dpbf16_ps(a[i], (__m512bh)_mm512_set1_epi32(int(q[i][p])), k);
                }
                for (int i = 0; i < RS && i0 + i < n; ++i)
                    _mm512_storeu_ps(s + (i0 + i) * Tp + j, _mm512_mul_ps(a[i], _mm512_set1_ps(scale)));
            }
        }
        attn::softmax_rows(s, n, T, Tp, sc.inv.data());
        for (int64_t i = 0; i < n; ++i) pairs_row(s + i * Tp, Tp, sc.p.data() + i * Tp2);
        // O = P V * inv: R rows x NV vectors of features per micro-tile.
        constexpr int R = NV <= 4 ? 4 : NV <= 6 ? 3 : 2;
        const int64_t T2 = (T + 1) / 2;
        for (int64_t i0 = 0; i0 < n; i0 += R) {
            __m512 acc[R][NV];
            for (int i = 0; i < R; ++i)
                for (int c = 0; c < NV; ++c) acc[i][c] = _mm512_setzero_ps();
            const uint32_t* pp[R];
            for (int i = 0; i < R; ++i) pp[i] = sc.p.data() + std::min<int64_t>(i0 + i, n - 1) * Tp2;
            for (int64_t m = 0; m < T2; ++m) {
                const uint32_t* vr = vp + m * hdp;
                __m512bh pb[R];
                for (int i = 0; i < R; ++i) pb[i] = (__m512bh)_mm512_set1_epi32(int(pp[i][m]));
                for (int c = 0; c < NV; ++c) {
                    const __m512bh x = (__m512bh)_mm512_loadu_si512(vr + 16 * c);
                    for (int i = 0; i < R; ++i) acc[i][c] = _mm512_dpbf16_ps(acc[i][c], pb[i], x);
                }
            }
            for (int i = 0; i < R && i0 + i < n; ++i) {
                float tmp[hdp];
                const __m512 w = _mm512_set1_ps(sc.inv[size_t(i0 + i)]);
                for (int c = 0; c < NV; ++c) _mm512_storeu_ps(tmp + 16 * c, _mm512_mul_ps(acc[i][c], w));
                std::memcpy(out + (r + i0 + i) * ostride, tmp, size_t(hd) * sizeof(float));
            }
        }
    }
}

using TaskFn = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float, int64_t, int64_t, Scratch&,
                        float*, int64_t);

}  // namespace

void attention_bf16(const float* qkv, int64_t B, int64_t T, int64_t heads, int64_t hd, float scale, float* out,
                    int64_t query_rows) {
    const int64_t Tq = query_rows < 0 ? T : std::min(T, query_rows);
    const int64_t nv = (hd + 15) / 16;
    const TaskFn task = attn::task_for<TaskFn>(nv, [](auto c) -> TaskFn { return attention_task<decltype(c)::value>; });
    if (!task) return attention_f32(qkv, B, T, heads, hd, scale, out, Tq);  // head_dim > 128: no ViT has it
    check(cpu_has_avx512_bf16(), "attention_bf16: this CPU has no AVX512-BF16");
    const int64_t D = heads * hd, D3 = 3 * D, Tp = attn::pad16(T);
    thread_local Scratch sc;  // grows once per thread, then reused
    attn::for_each_task(
        B, heads, Tq, [&] { sc.grow((hd + 1) / 2, Tp, 16 * nv); },
        [&](int64_t b, int64_t h, int64_t r0, int64_t r1) {
            task(qkv + b * T * D3 + h * hd, T, D3, D, 2 * D, hd, scale, r0, r1, sc, out + b * T * D + h * hd, D);
        });
}

}  // namespace vitrt::cpu
