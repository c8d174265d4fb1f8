// Not a test: a benchmark of the cpu backend's two channelwise convolution kernels (oneDNN's vs
// the own one), which decides the dispatch in CpuOps::conv2d. Correctness of both is covered by
// tests/ops/test_ops.cpp. Run it with
//   OMP_WAIT_POLICY=passive build/tests/test_cpu_conv_kernels --gtest_also_run_disabled_tests \
//       --gtest_filter='*BenchChannelwise*'
// (results: bench/fastvit.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

#include "backends/cpu/conv_onednn.hpp"
#include "backends/cpu/kernels_conv.hpp"
#include "common/op_buffers.hpp"

namespace vitrt {
namespace {

using test::Buf;
using test::expect_close;
using test::randn;
using test::zeros;

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
