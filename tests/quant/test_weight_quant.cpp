// Weight quantizers (src/quant/weight_quant.hpp) and their checks.
// Tolerances: a round trip q * scale differs from w by at most scale / 2 per element (rounding
// to the nearest step; the largest magnitude of a group maps to exactly +-qmax, so nothing clips),
// plus one f32 rounding of the product (2^-24 relative). Everything else is exact.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "common/op_buffers.hpp"
#include "quant/weight_quant.hpp"

namespace vitrt {
namespace {

void expect_round_trip(const HostTensor& w, Precision p, int group_size) {
    QuantizedWeight q = quantize_weight(w, p, group_size);
    if (p == Precision::w8a8) q.act_scale = 0.05f, q.act_zero_point = 128;  // calibration, not the quantizer's job
    ASSERT_NO_THROW(validate_quantized(q, "w"));
    const HostTensor d = dequantize_weight(q);
    const int64_t N = w.view.dim(0), K = w.view.dim(1), G = scale_groups(K, q.group_size);
    const float qmax = p == Precision::w4 ? 7.f : 127.f;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
            const float s = q.scales.f32()[n * G + (q.group_size ? k / q.group_size : 0)];
            const float a = w.f32()[n * K + k], b = d.f32()[n * K + k];
            ASSERT_LE(std::fabs(a - b), s / 2 * (1 + 1e-6f) + std::fabs(a) * 1e-7f)
                << precision_name(p) << " g" << group_size << " K=" << K << " at " << n << "," << k;
            ASSERT_LE(std::abs(quantized_value(q, n, k)), int(qmax));
        }
}

TEST(WeightQuant, RoundTripsEveryPrecisionGroupAndOddK) {
    for (int64_t K : {1, 7, 33, 127, 128, 200, 768}) {
        const test::Buf w = test::randn({9, K}, uint32_t(K), 0.3f);
        expect_round_trip(w.host, Precision::w8a8_dynamic, 0);
        expect_round_trip(w.host, Precision::w8a8, 0);
        for (int g : {0, 32, 64, 128}) {
            expect_round_trip(w.host, Precision::w8, g);
            expect_round_trip(w.host, Precision::w4, g);
        }
    }
}

TEST(WeightQuant, ScalesFollowTheGroupMaximum) {
    test::Buf w = test::randn({3, 70}, 5);
    w.host.mutable_f32()[1 * 70 + 40] = -9.f;  // row 1, group 1 of 32
    const QuantizedWeight q = quantize_weight(w.host, Precision::w8, 32);
    ASSERT_EQ(q.scales.view.shape, (Shape{3, 3}));
    EXPECT_FLOAT_EQ(q.scales.f32()[1 * 3 + 1], 9.f / 127.f);
    EXPECT_EQ(quantized_value(q, 1, 40), -127);
    const QuantizedWeight c = quantize_weight(w.host, Precision::w8a8_dynamic, 32);  // per channel: no groups
    EXPECT_EQ(c.group_size, 0);
    ASSERT_EQ(c.scales.view.shape, (Shape{3}));
    EXPECT_FLOAT_EQ(c.scales.f32()[1], 9.f / 127.f);
}

TEST(WeightQuant, AllZeroRowsAndGroupsGetScaleOne) {
    test::Buf w = test::zeros({2, 40});
    for (int64_t k = 32; k < 40; ++k) w.host.mutable_f32()[40 + k] = 0.5f;  // row 1, group 1 only
    for (Precision p : {Precision::w8, Precision::w4}) {
        const QuantizedWeight q = quantize_weight(w.host, p, 32);
        EXPECT_EQ(q.scales.f32()[0], 1.f);
        EXPECT_EQ(q.scales.f32()[1], 1.f);
        EXPECT_EQ(q.scales.f32()[2], 1.f);
        for (int64_t k = 0; k < 32; ++k) EXPECT_EQ(quantized_value(q, 1, k), 0);
        EXPECT_EQ(quantized_value(q, 1, 35), p == Precision::w4 ? 7 : 127);
    }
}

TEST(WeightQuant, W4PacksTwoPerByteLowNibbleFirst) {
    for (int64_t K : {33, 127}) {
        test::Buf w = test::zeros({1, K});
        for (int64_t k = 0; k < K; ++k) w.host.mutable_f32()[k] = float(int(k % 15) - 7);  // -7..7
        const QuantizedWeight q = quantize_weight(w.host, Precision::w4, 0);
        ASSERT_EQ(q.q.view.shape, (Shape{1, (K + 1) / 2}));
        ASSERT_EQ(q.q.view.dtype, DType::u8);
        EXPECT_FLOAT_EQ(q.scales.f32()[0], 1.f);
        const auto* b = static_cast<const uint8_t*>(q.q.view.data);
        for (int64_t k = 0; k < K; ++k) {
            const int v = int(k % 15) - 7, nib = k % 2 == 0 ? b[k / 2] & 0xF : b[k / 2] >> 4;
            EXPECT_EQ(nib, v & 0xF) << "K=" << K << " k=" << k;
            EXPECT_EQ(quantized_value(q, 0, k), v);
        }
        if (K % 2) EXPECT_EQ(b[K / 2] >> 4, 0) << "the unused high nibble of an odd row is zero";
    }
}

// validate_quantized: each broken field is an Error that names the tensor and the field.
void expect_rejected(const QuantizedWeight& q, const std::string& field) {
    try {
        validate_quantized(q, "blocks.3.mlp.fc1.weight");
        ADD_FAILURE() << "accepted a weight with a bad " << field;
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("blocks.3.mlp.fc1.weight"), std::string::npos) << m;
        EXPECT_NE(m.find(field), std::string::npos) << m;
    }
}

TEST(WeightQuant, ValidateRejectsBrokenWeights) {
    const test::Buf w = test::randn({6, 40}, 9);
    const QuantizedWeight good = quantize_weight(w.host, Precision::w8, 32);
    ASSERT_NO_THROW(validate_quantized(good, "x"));
    {
        QuantizedWeight q = good;
        q.scales = HostTensor::zeros_f32({6});  // per-channel shape for a grouped weight
        expect_rejected(q, "scales have shape");
    }
    {
        QuantizedWeight q = good;
        q.group_size = 64;  // now [6, 1] scales are expected
        expect_rejected(q, "scales have shape");
    }
    {
        QuantizedWeight q = good;
        q.q.view.dtype = DType::u8;
        expect_rejected(q, "values must be i8");
    }
    {
        QuantizedWeight q = quantize_weight(w.host, Precision::w4, 32);
        q.q.view.shape = {6, 40};  // unpacked
        expect_rejected(q, "values have shape");
        q = quantize_weight(w.host, Precision::w4, 31);
        expect_rejected(q, "group size");
    }
    {
        QuantizedWeight q = good;
        q.scales.view.dtype = DType::f16;
        expect_rejected(q, "scales must be f32");
    }
    // (Negative scales are accepted: a checkpoint may fold a sign into them.)
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 0.f}) {
        QuantizedWeight q = quantize_weight(w.host, Precision::w8, 32);  // own scales buffer
        q.scales.mutable_f32()[4] = bad;
        expect_rejected(q, "scale 4");
    }
    {
        QuantizedWeight q = quantize_weight(w.host, Precision::w8a8, 0);
        expect_rejected(q, "input scale");  // static w8a8 without calibration
        q.act_scale = 0.05f;
        for (int zp : {-1, 256}) {
            q.act_zero_point = zp;
            expect_rejected(q, "zero point");
        }
        q.act_zero_point = 255;
        EXPECT_NO_THROW(validate_quantized(q, "x"));
        q.act_scale = std::numeric_limits<float>::infinity();
        expect_rejected(q, "input scale");
    }
}

}  // namespace
}  // namespace vitrt
