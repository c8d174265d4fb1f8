// Host buffers for op tests: seeded random tensors and the relative-error comparison every
// backend-vs-reference op test uses (|fast - ref| / (1 + |ref|), worst element reported).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "core/tensor.hpp"

namespace vitrt::test {

struct Buf {
    HostTensor host;
    Tensor t() const { return host.view; }
};

inline Buf randn(const Shape& s, uint32_t seed, float scale = 1.f) {
    Buf b{HostTensor::zeros_f32(s)};
    std::mt19937 g(seed);
    std::normal_distribution<float> n(0.f, scale);
    for (int64_t i = 0; i < b.host.view.numel(); ++i) b.host.mutable_f32()[i] = n(g);
    return b;
}

inline Buf zeros(const Shape& s) { return Buf{HostTensor::zeros_f32(s)}; }

inline void expect_close(const Buf& fast, const Buf& ref, double tol, const std::string& what) {
    ASSERT_EQ(fast.host.view.numel(), ref.host.view.numel());
    double worst = 0;
    int64_t at = -1;
    for (int64_t i = 0; i < ref.host.view.numel(); ++i) {
        const double r = ref.host.f32()[i], f = fast.host.f32()[i];
        const double err = std::fabs(f - r) / (1.0 + std::fabs(r));
        if (!(err <= worst)) {
            worst = err;
            at = i;
        }
    }
    EXPECT_LE(worst, tol) << what << ": worst relative error at " << at;
}

}  // namespace vitrt::test
