// Multi-head attention for the cpu backend, fused per (image, head, block of query rows):
//   S = Q_blk K^T * scale -> softmax -> O_blk = P V
// K (transposed) and V of the head are packed once per task into per-thread buffers; the score
// block [rows x T] stays in cache, never T x T per image in memory. Register-blocked micro-kernels
// over 16-float vectors (GCC vector extensions: zmm on AVX-512, 2 x ymm on AVX2, xmm otherwise),
// compiled per ISA and picked at run time. Any head_dim; T any (tails padded with zeros / -inf).
// Reference twin: RefOps::attention (tests/test_backend_ops.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/kernels.hpp"
#include "backends/cpu/vec.hpp"

namespace vitrt::cpu {
namespace {

constexpr int64_t kRows = 64;  // query rows per task
constexpr int64_t kMaxHdVec = 8;  // head_dim <= 128

struct Scratch {
    std::vector<float> kt, v, s;  // K^T [hd][Tp], V [Tp][hdp], scores [kRows][Tp]
};

VITRT_ISA_CLONES
void attention_task(const float* qkv, int64_t T, int64_t D3, int64_t koff, int64_t voff, int64_t hd, float scale,
                    int64_t row0, int64_t row1, Scratch& sc, float* out, int64_t out_stride) {
    const int64_t Tp = (T + 15) / 16 * 16, hdp = (hd + 15) / 16 * 16, nv = hdp / 16;
    float* kt = sc.kt.data();
    float* vv = sc.v.data();
    float* s = sc.s.data();
    // Pack K^T (zero-padded columns) and V (zero-padded rows and features).
    for (int64_t e = 0; e < hd; ++e) {
        float* dst = kt + e * Tp;
        for (int64_t j = 0; j < T; ++j) dst[j] = qkv[j * D3 + koff + e];
        for (int64_t j = T; j < Tp; ++j) dst[j] = 0.f;
    }
    for (int64_t j = 0; j < Tp; ++j) {
        float* dst = vv + j * hdp;
        if (j < T) {
            std::memcpy(dst, qkv + j * D3 + voff, size_t(hd) * sizeof(float));
            for (int64_t e = hd; e < hdp; ++e) dst[e] = 0.f;
        } else {
            std::memset(dst, 0, size_t(hdp) * sizeof(float));
        }
    }
    const int64_t nrows = row1 - row0;
    // Scores: 4 query rows x 16 keys per micro-tile.
    for (int64_t r = 0; r < nrows; r += 4) {
        const int64_t rn = std::min<int64_t>(4, nrows - r);
        const float* q[4];
        for (int64_t i = 0; i < 4; ++i) q[i] = qkv + (row0 + r + std::min(i, rn - 1)) * D3;
        for (int64_t j = 0; j < Tp; j += 16) {
            v16 a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
            for (int64_t e = 0; e < hd; ++e) {
                const v16 k = vload(kt + e * Tp + j);
                a0 += q[0][e] * k;
                a1 += q[1][e] * k;
                a2 += q[2][e] * k;
                a3 += q[3][e] * k;
            }
            const v16 acc[4] = {a0, a1, a2, a3};
            for (int64_t i = 0; i < rn; ++i) vstore(s + (r + i) * Tp + j, acc[i] * scale);
        }
    }
    // Softmax per row (padded keys excluded), then O = P V with 4 rows x head_dim per tile.
    for (int64_t i = 0; i < nrows; ++i) {
        float* row = s + i * Tp;
        float mx = -INFINITY;
        for (int64_t j = 0; j < T; ++j) mx = std::max(mx, row[j]);
        // Padded keys must not count: -inf makes their exp the smallest value vexp returns (not
        // exp(0 - mx), which overflows when the real scores are very negative).
        for (int64_t j = T; j < Tp; ++j) row[j] = -INFINITY;
        v16 sum = vzero();
        for (int64_t j = 0; j < Tp; j += 16) {
            v16 e = vexp(vload(row + j) - mx);
            vstore(row + j, e);
            sum += e;
        }
        float total = 0.f;
        for (int64_t j = T; j < Tp; ++j) {  // remove those tiny values from the sum and zero them
            total -= row[j];
            row[j] = 0.f;
        }
        total += vsum(sum);
        const float inv = 1.0f / total;
        for (int64_t j = 0; j < Tp; j += 16) vstore(row + j, vload(row + j) * inv);
    }
    for (int64_t r = 0; r < nrows; r += 4) {
        const int64_t rn = std::min<int64_t>(4, nrows - r);
        v16 acc[4][kMaxHdVec];
        for (int64_t i = 0; i < 4; ++i)
            for (int64_t c = 0; c < nv; ++c) acc[i][c] = vzero();
        const float* p[4];
        for (int64_t i = 0; i < 4; ++i) p[i] = s + (r + std::min(i, rn - 1)) * Tp;
        for (int64_t j = 0; j < T; ++j) {
            const float* vr = vv + j * hdp;
            for (int64_t c = 0; c < nv; ++c) {
                const v16 x = vload(vr + 16 * c);
                acc[0][c] += p[0][j] * x;
                acc[1][c] += p[1][j] * x;
                acc[2][c] += p[2][j] * x;
                acc[3][c] += p[3][j] * x;
            }
        }
        for (int64_t i = 0; i < rn; ++i) {
            float tmp[16 * kMaxHdVec];
            for (int64_t c = 0; c < nv; ++c) vstore(tmp + 16 * c, acc[i][c]);
            std::memcpy(out + (row0 + r + i) * out_stride, tmp, size_t(hd) * sizeof(float));
        }
    }
}

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

void attention_f32(const float* qkv, int64_t B, int64_t T, int64_t heads, int64_t hd, float scale, float* out) {
    const int64_t D = heads * hd, D3 = 3 * D;
    const int64_t blocks = (T + kRows - 1) / kRows;
    const int64_t Tp = (T + 15) / 16 * 16, hdp = (hd + 15) / 16 * 16;
    const bool vector_path = hdp / 16 <= kMaxHdVec;
#pragma omp parallel
    {
        thread_local Scratch sc;  // grows once per thread, then reused
        if (int64_t(sc.kt.size()) < hd * Tp) sc.kt.resize(size_t(hd * Tp));
        if (int64_t(sc.v.size()) < Tp * hdp) sc.v.resize(size_t(Tp * hdp));
        if (int64_t(sc.s.size()) < kRows * Tp) sc.s.resize(size_t(kRows * Tp));
#pragma omp for collapse(3) schedule(static)
        for (int64_t b = 0; b < B; ++b)
            for (int64_t h = 0; h < heads; ++h)
                for (int64_t blk = 0; blk < blocks; ++blk) {
                    const float* base = qkv + b * T * D3 + h * hd;
                    const int64_t r0 = blk * kRows, r1 = std::min(T, r0 + kRows);
                    float* o = out + b * T * D + h * hd;
                    if (vector_path)
                        attention_task(base, T, D3, D, 2 * D, hd, scale, r0, r1, sc, o, D);
                    else
                        attention_rows_scalar(base, T, D3, D, 2 * D, hd, scale, r0, r1, sc.s.data(), o, D);
                }
    }
}

}  // namespace vitrt::cpu
