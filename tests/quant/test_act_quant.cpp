// Activation quantizers: the scalar definitions (src/quant/act_quant.hpp, what the ref twin runs)
// and the cpu backend's vectorised kernels (backends/cpu/kernels_quant.hpp) must produce the same
// bytes and scales, bit for bit, ties included: the int8 op tests compare against an exact
// integer twin, which only holds if both sides quantize identically. Round trips: |q s - x| <=
// s / 2 inside the clamp range, plus a few f32 roundings of x (x * (1 / s) is rounded once, and
// 1 / s once: a value a hair past a tie rounds to the farther step).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cpu/kernels_quant.hpp"
#include "quant/act_quant.hpp"

namespace vitrt {
namespace {

std::vector<float> random_rows(int64_t M, int64_t K, uint32_t seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> n(0.f, 1.f);
    std::vector<float> x(size_t(M * K));
    for (int64_t m = 0; m < M; ++m) {
        const float mag = std::ldexp(1.f, int(m % 11) - 5);
        for (int64_t k = 0; k < K; ++k) x[size_t(m * K + k)] = n(g) * mag;
    }
    return x;
}

// Row m holds exact ties: amax = 127 * step (step a power of two, so s = step and 1/s is exact),
// and x = (j + 1/2) * step for integers j, both signs.
void put_ties(std::vector<float>& x, int64_t m, int64_t K, float step) {
    for (int64_t k = 0; k < K; ++k) x[size_t(m * K + k)] = (float(int(k % 40) - 20) + 0.5f) * step;
    x[size_t(m * K)] = 127.f * step;
}

struct Quantized {
    std::vector<int8_t> q;
    std::vector<float> s;
};
Quantized run_s8(const std::vector<float>& x, int64_t M, int64_t K, bool scalar) {
    Quantized r{std::vector<int8_t>(size_t(M * K)), std::vector<float>(size_t(M))};
    const bool was = cpu::quant_kernels_force_scalar(scalar);
    cpu::quantize_rows_s8(x.data(), M, K, r.q.data(), r.s.data());
    cpu::quant_kernels_force_scalar(was);
    return r;
}

TEST(ActQuant, PerTokenS8VectorisedEqualsScalarBitForBit) {
    for (int64_t K : {1, 15, 16, 17, 33, 127, 768, 1000}) {
        const int64_t M = 23;
        std::vector<float> x = random_rows(M, K, uint32_t(K));
        if (K >= 2) {
            put_ties(x, 0, K, 0.25f);
            put_ties(x, 1, K, std::ldexp(1.f, -9));
            put_ties(x, 2, K, 8.f);
        }
        std::fill(x.begin() + 3 * K, x.begin() + 4 * K, 0.f);  // an all-zero row
        x[size_t(5 * K)] = -0.f;
        const Quantized v = run_s8(x, M, K, false), s = run_s8(x, M, K, true);
        for (int64_t m = 0; m < M; ++m) {
            std::vector<int8_t> ref(static_cast<size_t>(K));
            const float rs = quant::quantize_row_s8(x.data() + m * K, K, ref.data());
            ASSERT_EQ(std::memcmp(&rs, &v.s[size_t(m)], 4), 0) << "scale, K=" << K << " row " << m;
            ASSERT_EQ(std::memcmp(&rs, &s.s[size_t(m)], 4), 0);
            ASSERT_EQ(std::memcmp(ref.data(), v.q.data() + m * K, size_t(K)), 0) << "K=" << K << " row " << m;
            ASSERT_EQ(std::memcmp(ref.data(), s.q.data() + m * K, size_t(K)), 0);
        }
    }
}

TEST(ActQuant, PerTokenScalesRoundTripsTiesAndZeroRows) {
    const int64_t M = 4, K = 80;
    std::vector<float> x = random_rows(M, K, 7);
    put_ties(x, 1, K, 0.25f);
    std::fill(x.begin() + 2 * K, x.begin() + 3 * K, 0.f);
    const Quantized r = run_s8(x, M, K, false);
    for (int64_t m = 0; m < M; ++m) {
        float amax = 0.f;
        for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(x[size_t(m * K + k)]));
        const float s = r.s[size_t(m)];
        EXPECT_EQ(s, amax > 0 ? amax / 127.f : 1.f) << "row " << m;
        for (int64_t k = 0; k < K; ++k) {
            const int q = r.q[size_t(m * K + k)];
            EXPECT_LE(std::abs(q), 127);
            EXPECT_LE(std::fabs(float(q) * s - x[size_t(m * K + k)]), s / 2 * (1 + 1e-6f) + std::fabs(x[size_t(m * K + k)]) * 5e-7f)
                << m << "," << k;
        }
    }
    for (int64_t k = 0; k < K; ++k) EXPECT_EQ(r.q[size_t(2 * K + k)], 0);
    // Ties go to even: (j + 1/2) -> the even neighbour.
    for (int64_t k = 1; k < K; ++k) {
        const float t = float(int(k % 40) - 20) + 0.5f;
        const int even = int(std::floor(t)) % 2 == 0 ? int(std::floor(t)) : int(std::ceil(t));
        EXPECT_EQ(r.q[size_t(K + k)], even) << "tie " << t;
    }
}

TEST(ActQuant, StaticU8VectorisedEqualsScalarBitForBit) {
    for (int64_t n : {1, 15, 16, 17, 100, 4097, 70000}) {
        std::vector<float> x = random_rows(1, n, uint32_t(n));
        for (int64_t i = 0; i < n; i += 7) x[size_t(i)] = (float(int(i % 50) - 25) + 0.5f) * 0.5f;  // ties for s=0.5
        if (n > 3) x[1] = 1e10f, x[2] = -1e10f, x[3] = 0.f;
        for (auto [scale, zp] : {std::pair<float, int>{8.f / 255.f, 128}, {0.5f, 0}, {0.5f, 255}, {0.02f, 3}}) {
            std::vector<uint8_t> ref(static_cast<size_t>(n)), vec(static_cast<size_t>(n)), sca(static_cast<size_t>(n));
            quant::quantize_u8(x.data(), n, scale, zp, ref.data());
            cpu::quantize_u8(x.data(), n, scale, zp, vec.data());
            const bool was = cpu::quant_kernels_force_scalar(true);
            cpu::quantize_u8(x.data(), n, scale, zp, sca.data());
            cpu::quant_kernels_force_scalar(was);
            ASSERT_EQ(std::memcmp(ref.data(), vec.data(), size_t(n)), 0) << "n=" << n << " zp=" << zp;
            ASSERT_EQ(std::memcmp(ref.data(), sca.data(), size_t(n)), 0);
            if (n > 3) {
                EXPECT_EQ(ref[1], 255);
                EXPECT_EQ(ref[2], 0);
                EXPECT_EQ(ref[3], zp);
            }
            for (int64_t i = 0; i < n; ++i) {  // round trip inside the range
                const float back = float(int(ref[size_t(i)]) - zp) * scale, v = x[size_t(i)];
                if (v > -zp * scale && v < (255 - zp) * scale)
                    ASSERT_LE(std::fabs(back - v), scale / 2 * (1 + 1e-6f) + std::fabs(v) * 5e-7f) << i;
            }
        }
    }
}

TEST(ActQuant, ZeroPointTiesRoundToEven) {
    const float x[4] = {0.25f, 0.75f, -0.25f, -0.75f};  // x / 0.5 = 0.5, 1.5, -0.5, -1.5
    uint8_t q[4];
    quant::quantize_u8(x, 4, 0.5f, 10, q);
    EXPECT_EQ(q[0], 10);
    EXPECT_EQ(q[1], 12);
    EXPECT_EQ(q[2], 10);
    EXPECT_EQ(q[3], 8);
}

}  // namespace
}  // namespace vitrt
