// The ops of convolutional models (conv2d, to_channels_last, scale_channels) of every fast backend
// against the reference backend (scalar, double accumulation): dense, grouped, depthwise and
// channel-multiplier convolutions as FastViT uses them, plus odd shapes (sizes that are not
// multiples of the stride, channel counts that are not multiples of 16, padding wider than the
// image), batch 1 and 19, every fusion (bias, activation, residual in place and from another
// buffer), and a second call through the cached primitives.
//
// Tolerance: |fast - ref| <= 1e-5 * sqrt(K) * (1 + |ref|) for a convolution with K = Cin/g * kh * kw
// taps (f32 accumulation in another order than the double reference, inputs O(1); GELU's erf
// approximation adds <= 1e-7 * |x|), 2e-5 * (1 + |ref|) for scale_channels, exact for layout changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>

#include "backends/cpu/conv_onednn.hpp"
#include "backends/cpu/kernels_conv.hpp"
#include "backends/ref/ref_ops.hpp"
#include "common/op_buffers.hpp"
#include "engine/backend_factory.hpp"

namespace vitrt {
namespace {

using test::Buf;
using test::expect_close;
using test::randn;
using test::zeros;

Buf copy(const Buf& a) {
    Buf b{HostTensor::zeros_f32(a.host.view.shape)};
    std::copy(a.host.f32(), a.host.f32() + a.host.view.numel(), b.host.mutable_f32());
    return b;
}

class BackendConvOps : public ::testing::TestWithParam<std::string> {
protected:
    std::unique_ptr<Ops> fast = make_backend(GetParam(), 0);
    std::unique_ptr<Ops> ref = make_ref_ops();
};

struct ConvCase {
    const char* what;
    int64_t B, H, W, C, O, groups, k, stride, pad;
};

std::string describe(const ConvCase& c) {
    return std::string(c.what) + " B=" + std::to_string(c.B) + " " + std::to_string(c.H) + "x" + std::to_string(c.W) +
           " C=" + std::to_string(c.C) + " O=" + std::to_string(c.O) + " g=" + std::to_string(c.groups) +
           " k=" + std::to_string(c.k) + " s=" + std::to_string(c.stride) + " p=" + std::to_string(c.pad);
}

TEST_P(BackendConvOps, Conv2dEveryKindAndFusion) {
    const ConvCase cases[] = {
        {"stem 3x3/2 dense from RGB", 1, 33, 31, 3, 48, 1, 3, 2, 1},
        {"stem 3x3/2 dense from RGB", 19, 16, 16, 3, 16, 1, 3, 2, 1},
        {"depthwise 3x3/2", 2, 17, 18, 48, 48, 48, 3, 2, 1},
        {"depthwise 3x3 (RepMixer)", 1, 13, 13, 76, 76, 76, 3, 1, 1},
        {"depthwise 3x3 (RepMixer)", 19, 8, 8, 64, 64, 64, 3, 1, 1},
        {"depthwise 7x7 (ConvFFN, RepCPE)", 2, 17, 9, 40, 40, 40, 7, 1, 3},
        {"channel multiplier 2, 7x7/2 (downsample)", 1, 19, 19, 24, 48, 24, 7, 2, 3},
        {"channel multiplier 2, 7x7/2 (downsample)", 19, 8, 8, 38, 76, 38, 7, 2, 3},
        {"channel multiplier 2, 3x3 (final conv)", 3, 5, 7, 38, 76, 38, 3, 1, 1},
        {"channel multiplier 3", 2, 9, 6, 5, 15, 5, 3, 1, 1},
        {"single input channel, 8 outputs", 1, 12, 11, 1, 8, 1, 5, 1, 2},
        {"grouped 2 in / 3 out per group", 2, 10, 9, 8, 12, 4, 3, 1, 1},
        {"dense 1x1", 2, 7, 5, 20, 33, 1, 1, 1, 0},
        {"dense 3x3 no padding, odd stride", 1, 14, 15, 16, 24, 1, 3, 3, 0},
        {"padding wider than the image", 2, 2, 3, 16, 32, 16, 3, 1, 3},
    };
    for (const ConvCase& c : cases) {
        const int64_t Ho = (c.H + 2 * c.pad - c.k) / c.stride + 1, Wo = (c.W + 2 * c.pad - c.k) / c.stride + 1;
        const int64_t Ig = c.C / c.groups, K = Ig * c.k * c.k;
        Buf x = randn({c.B, c.H, c.W, c.C}, 1), w = randn({c.O, Ig, c.k, c.k}, 2, 1.f / std::sqrt(float(K)));
        Buf bias = randn({c.O}, 3), other = randn({c.B, Ho, Wo, c.O}, 4);
        Tensor wr = ref->prepare_weight(w.host, WeightRole::conv);
        Tensor wf = fast->prepare_weight(w.host, WeightRole::conv);
        for (int variant = 0; variant < 5; ++variant) {
            Conv2dOpts o;
            o.stride = int(c.stride), o.pad = int(c.pad), o.groups = int(c.groups);
            if (variant >= 1) o.bias = &bias.host.view;
            const Activation acts[] = {Activation::none, Activation::gelu_erf, Activation::relu, Activation::sigmoid,
                                       Activation::gelu_erf};
            o.act = acts[variant];
            Buf yr = zeros({c.B, Ho, Wo, c.O}), yf = zeros({c.B, Ho, Wo, c.O});
            Conv2dOpts orf = o, of = o;
            if (variant == 3) {  // residual in place
                yr = copy(other), yf = copy(other);
                orf.residual = &yr.host.view, of.residual = &yf.host.view;
            } else if (variant == 4) {  // residual from another buffer
                orf.residual = of.residual = &other.host.view;
            }
            ref->conv2d(x.t(), wr, yr.t(), orf);
            fast->conv2d(x.t(), wf, yf.t(), of);
            const double tol = 1e-5 * std::sqrt(double(K));
            expect_close(yf, yr, tol, describe(c) + " variant " + std::to_string(variant));
            if (variant == 1) {  // again, through the cached primitive and packed weights
                Buf again = zeros({c.B, Ho, Wo, c.O});
                fast->conv2d(x.t(), wf, again.t(), of);
                expect_close(again, yr, tol, describe(c) + " second call");
            }
        }
    }
}

TEST_P(BackendConvOps, Conv2dRejectsInconsistentShapes) {
    Buf x = randn({1, 8, 8, 16}, 1), w = randn({16, 1, 3, 3}, 2);
    Tensor wf = fast->prepare_weight(w.host, WeightRole::conv);
    Conv2dOpts o;
    o.pad = 1, o.groups = 16;
    Buf y_bad = zeros({1, 7, 8, 16});
    EXPECT_THROW(fast->conv2d(x.t(), wf, y_bad.t(), o), Error);
    o.groups = 4;  // Cin / groups = 4, but the kernel has 1 input channel per group
    Buf y = zeros({1, 8, 8, 16});
    EXPECT_THROW(fast->conv2d(x.t(), wf, y.t(), o), Error);
}

TEST_P(BackendConvOps, ToChannelsLast) {
    for (const Shape s : {Shape{1, 3, 256, 256}, Shape{19, 3, 17, 9}, Shape{2, 5, 1, 7}}) {
        Buf x = randn(s, 5);
        Buf yr = zeros({s[0], s[2], s[3], s[1]}), yf = zeros({s[0], s[2], s[3], s[1]});
        ref->to_channels_last(x.t(), yr.t());
        fast->to_channels_last(x.t(), yf.t());
        expect_close(yf, yr, 0, "to_channels_last " + shape_str(s));
    }
}

TEST_P(BackendConvOps, ScaleChannels) {
    for (const Shape s : {Shape{1, 64, 768}, Shape{19, 49, 76}, Shape{2, 1, 5}, Shape{3, 7, 33}}) {
        for (Activation act : {Activation::none, Activation::gelu_erf, Activation::sigmoid, Activation::relu}) {
            Buf x = randn(s, 6, 3.f), gate = randn({s[0], s[2]}, 7);
            Buf yr = zeros(s), yf = zeros(s);
            ref->scale_channels(x.t(), gate.t(), act, yr.t());
            fast->scale_channels(x.t(), gate.t(), act, yf.t());
            expect_close(yf, yr, 2e-5, "scale_channels " + shape_str(s) + " act " + std::to_string(int(act)));
            fast->scale_channels(x.t(), gate.t(), act, x.t());  // in place
            expect_close(x, yr, 2e-5, "scale_channels in place " + shape_str(s));
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Cpu, BackendConvOps, ::testing::Values("cpu"));

// Not a test: oneDNN's convolution vs the own channelwise kernel on FastViT's channelwise convs,
// which decides the dispatch in CpuOps::conv2d. Run it with
//   OMP_WAIT_POLICY=passive build/tests/test_backend_ops_conv --gtest_also_run_disabled_tests \
//       --gtest_filter='*BenchChannelwise*'
// (results: bench/fastvit.md).
TEST(ConvKernels, DISABLED_BenchChannelwiseOnednnVsOwn) {
    struct Shape_ {
        const char* what;
        int64_t H, W, C, O, k, s;
    };
    const Shape_ shapes[] = {
        {"stem.1 dw 3x3/2", 128, 128, 48, 48, 3, 2},    {"RepMixer dw 3x3", 64, 64, 48, 48, 3, 1},
        {"ConvFFN dw 7x7", 64, 64, 48, 48, 7, 1},       {"ConvFFN dw 7x7", 8, 8, 384, 384, 7, 1},
        {"downsample x2 7x7/2", 64, 64, 48, 96, 7, 2},  {"downsample x2 7x7/2", 16, 16, 192, 384, 7, 2},
        {"final_conv x2 3x3", 8, 8, 384, 768, 3, 1},    {"final_conv x2 3x3 (sa12)", 8, 8, 512, 1024, 3, 1},
    };
    cpu::OnednnConv dnnl;
    std::printf("%-26s %5s %10s %10s %8s\n", "conv", "batch", "oneDNN ms", "own ms", "speedup");
    for (int64_t B : {1, 8})
        for (const Shape_& c : shapes) {
            const int64_t p = c.k / 2, Ho = (c.H + 2 * p - c.k) / c.s + 1, Wo = (c.W + 2 * p - c.k) / c.s + 1;
            Buf x = randn({B, c.H, c.W, c.C}, 1), w = randn({c.O, 1, c.k, c.k}, 2), bias = randn({c.O}, 3);
            Buf y1 = zeros({B, Ho, Wo, c.O}), y2 = zeros({B, Ho, Wo, c.O});
            auto cw = cpu::OnednnConv::make_weight(w.host.f32(), c.O, 1, c.k, c.k);
            cw->hwo.resize(size_t(c.O * c.k * c.k));
            cpu::pack_channelwise_weight(w.host.f32(), c.O, c.k, c.k, cw->hwo.data());
            cpu::ConvCall call;
            call.B = B, call.H = c.H, call.W = c.W, call.C = c.C, call.Ho = Ho, call.Wo = Wo;
            call.stride = c.s, call.pad = p, call.groups = c.C, call.bias = bias.host.f32();
            cpu::ChannelwiseConv own;
            own.x = x.host.f32(), own.w_hwo = cw->hwo.data(), own.bias = bias.host.f32(), own.y = y2.host.mutable_f32();
            own.B = B, own.H = c.H, own.W = c.W, own.C = c.C, own.O = c.O, own.KH = c.k, own.KW = c.k;
            own.Ho = Ho, own.Wo = Wo, own.stride = c.s, own.pad = p;
            auto median_ms = [](const std::function<void()>& f) {
                for (int i = 0; i < 3; ++i) f();
                std::vector<double> t;
                for (int i = 0; i < 15; ++i) {
                    const auto t0 = std::chrono::steady_clock::now();
                    f();
                    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
                }
                std::sort(t.begin(), t.end());
                return t[t.size() / 2];
            };
            const double a = median_ms([&] { dnnl.run(x.host.f32(), *cw, call, y1.host.mutable_f32()); });
            const double b = median_ms([&] { cpu::conv_channelwise_f32(own); });
            expect_close(y2, y1, 1e-5 * c.k, c.what);
            std::printf("%-26s %5ld %10.3f %10.3f %7.2fx\n", c.what, long(B), a, b, a / b);
        }
}

}  // namespace
}  // namespace vitrt
