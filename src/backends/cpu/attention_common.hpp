// Shared pieces of the cpu attention kernels (attention.cpp: f32 products; attention_bf16.cpp:
// bf16 products with f32 accumulation): task split and the masked softmax of a score chunk.
//
// A task is (image, head, block of query rows). K and V of the head are packed once per task, so
// a head is split into row blocks only when the (image, head) pairs do not divide evenly among
// the threads and there are fewer than eight per thread (ViT-Ti at batch 1: 3 heads, 2 threads). Inside a task, query rows go in chunks of
// kChunk: the chunk's scores [kChunk x Tp] stay in L1/L2, never T x T per image in memory.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

// vec.hpp's always-inline helpers pass 64-byte vectors by value (see vec_act.hpp); only the
// attention kernels include this header.
#pragma GCC diagnostic ignored "-Wpsabi"
#include "backends/cpu/vec.hpp"

namespace vitrt::cpu::attn {

constexpr int64_t kChunk = 24;   // query rows whose scores are live at once (a multiple of 2, 3, 4, 6)
constexpr int64_t kMaxHdVec = 8;  // vector paths: head_dim <= 128

inline int64_t pad16(int64_t n) { return (n + 15) / 16 * 16; }

// The task function for heads of nv 16-float vectors: make(std::integral_constant<int, nv>) for
// nv in 1..kMaxHdVec (the kernels are templated on it), null beyond.
template <class Fn, class Make>
Fn task_for(int64_t nv, Make make) {
    switch (nv) {
        case 1: return make(std::integral_constant<int, 1>{});
        case 2: return make(std::integral_constant<int, 2>{});
        case 3: return make(std::integral_constant<int, 3>{});
        case 4: return make(std::integral_constant<int, 4>{});
        case 5: return make(std::integral_constant<int, 5>{});
        case 6: return make(std::integral_constant<int, 6>{});
        case 7: return make(std::integral_constant<int, 7>{});
        case 8: return make(std::integral_constant<int, 8>{});
        default: return nullptr;
    }
}

// Row blocks per head for Tq query rows: the fewest that give every thread the same number of
// tasks, or at least eight tasks per thread; blocks never get smaller than one chunk.
inline int64_t blocks_per_head(int64_t B, int64_t heads, int64_t Tq) {
    const int64_t threads = std::max(1, omp_get_max_threads()), units = B * heads;
    const int64_t most = std::max<int64_t>(1, (Tq + kChunk - 1) / kChunk);
    int64_t n = 1;
    while (n < most && (units * n) % threads != 0 && units * n < 8 * threads) ++n;
    return n;
}

// Calls task(b, h, row0, row1) for every task over query rows [0, Tq), in parallel; init() runs
// once per thread first.
template <class Init, class Task>
void for_each_task(int64_t B, int64_t heads, int64_t Tq, Init init, Task task) {
    const int64_t nblk = blocks_per_head(B, heads, Tq);
    // Block boundaries on whole chunks, spread evenly (block sizes differ by at most one chunk).
    const int64_t chunks = (Tq + kChunk - 1) / kChunk;
#pragma omp parallel
    {
        init();
#pragma omp for collapse(3) schedule(static)
        for (int64_t b = 0; b < B; ++b)
            for (int64_t h = 0; h < heads; ++h)
                for (int64_t k = 0; k < nblk; ++k) {
                    const int64_t r0 = std::min(Tq, k * chunks / nblk * kChunk);
                    const int64_t r1 = std::min(Tq, (k + 1) * chunks / nblk * kChunk);
                    if (r0 < r1) task(b, h, r0, r1);
                }
    }
}

// In place over rows [0, n) of s (row stride Tp, T real keys): s = exp(s - max) with the padded
// keys [T, Tp) exactly 0; inv[i] = 1 / sum of row i. Padded lanes never reach the max or the sum:
// the partial tile feeds vexp a harmless -100 there and selects 0.
// Always inlined into the ISA-specific task functions that call it.
inline __attribute__((always_inline)) void softmax_rows(float* s, int64_t n, int64_t T, int64_t Tp, float* inv) {
    const int64_t full = T / 16 * 16;
    v16 lane;
    for (int i = 0; i < 16; ++i) lane[i] = float(i);
    const v16i tail_valid = lane < vbroadcast(float(T - full));  // lanes of the partial tile that are keys
    for (int64_t i = 0; i < n; ++i) {
        float* row = s + i * Tp;
        v16 m = vbroadcast(-INFINITY);
        for (int64_t j = 0; j < full; j += 16) {
            const v16 x = vload(row + j);
            m = x > m ? x : m;
        }
        float mx = -INFINITY;
        for (int k = 0; k < 16; ++k) mx = std::max(mx, m[k]);
        for (int64_t j = full; j < T; ++j) mx = std::max(mx, row[j]);
        v16 sum = vzero();
        for (int64_t j = 0; j < full; j += 16) {
            const v16 e = vexp(vload(row + j) - mx);
            vstore(row + j, e);
            sum += e;
        }
        if (full < Tp) {  // the partial tile: padded lanes become 0
            const v16 x = vload(row + full) - mx;
            v16 e = vexp(tail_valid ? x : vbroadcast(-100.f));
            e = tail_valid ? e : vzero();
            vstore(row + full, e);
            sum += e;
            for (int64_t j = full + 16; j < Tp; j += 16) vstore(row + j, vzero());
        }
        inv[i] = 1.0f / vsum(sum);
    }
}

}  // namespace vitrt::cpu::attn
