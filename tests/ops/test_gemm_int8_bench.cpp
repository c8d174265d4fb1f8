// Not a test: a benchmark of the cpu backend's linear per weight precision on ViT-B shapes
// (M = 8 * 197 tokens; K -> N = 768 -> 2304 (qkv), 768 -> 768 (proj), 768 -> 3072 (fc1),
// 3072 -> 768 (fc2)), with bias (+ GELU on fc1) fused as the model runs them. Reports GOP/s
// (2 M N K / time; median of 15 runs after 3 warm-ups, with min and max) and the ratio to f32.
// Run: OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive build/tests/test_gemm_int8_bench \
//        --gtest_also_run_disabled_tests   (results: bench/int8_gemm.md)
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "common/op_buffers.hpp"
#include "engine/backend_factory.hpp"
#include "quant/weight_quant.hpp"

namespace vitrt {
namespace {

struct Stats {
    double median, lo, hi;
};
Stats time_ms(const std::function<void()>& f) {
    for (int i = 0; i < 3; ++i) f();
    std::vector<double> t;
    for (int i = 0; i < 15; ++i) {
        const auto a = std::chrono::steady_clock::now();
        f();
        t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(t.begin(), t.end());
    return {t[t.size() / 2], t.front(), t.back()};
}

TEST(GemmInt8, DISABLED_BenchVitBShapes) {
    struct Shape3 {
        const char* what;
        int64_t K, N;
        Activation act;
    };
    const int64_t M = 8 * 197;
    const Shape3 shapes[] = {{"qkv", 768, 2304, Activation::none},
                             {"proj", 768, 768, Activation::none},
                             {"fc1", 768, 3072, Activation::gelu_erf},
                             {"fc2", 3072, 768, Activation::none}};
    auto ops = make_backend("cpu");
    std::printf("%s\n", ops->details().c_str());
    std::printf("%-5s %-13s %9s %9s %9s %8s\n", "shape", "precision", "ms", "GOP/s", "min-max", "vs f32");
    for (const Shape3& s : shapes) {
        test::Buf x = test::randn({M, s.K}, 1), w = test::randn({s.N, s.K}, 2, 0.05f), b = test::randn({s.N}, 3);
        test::Buf y = test::zeros({M, s.N});
        const double gop = 2.0 * double(M) * double(s.N) * double(s.K) * 1e-9;
        double f32_ms = 0;
        for (const char* tok : {"f32", "bf16", "w8a8", "w8a8-dynamic", "w8", "w4"}) {
            const Precision p = parse_precision(tok);
            if (!ops->supports(p, WeightRole::linear)) {
                std::printf("%-5s %-13s (not supported here)\n", s.what, tok);
                continue;
            }
            Tensor wt;
            QuantizedWeight q;
            if (precision_info(p).integer) {
                q = quantize_weight(w.host, p, 128);
                q.act_scale = 8.f / 255.f, q.act_zero_point = 128;
                wt = ops->prepare_weight(HostTensor(), WeightSpec(WeightRole::linear, p, &q));
            } else {
                wt = ops->prepare_weight(w.host, WeightSpec(WeightRole::linear, p));
            }
            Tensor bias = ops->prepare_weight(b.host, WeightRole::param);
            LinearOpts o;
            o.bias = &bias;
            o.act = s.act;
            const Stats t = time_ms([&] { ops->linear(x.t(), wt, y.t(), o); });
            if (p == Precision::f32) f32_ms = t.median;
            std::printf("%-5s %-13s %9.2f %9.1f %4.0f-%-4.0f %7.2fx\n", s.what, tok, t.median, gop / t.median * 1e3,
                        gop / t.hi * 1e3, gop / t.lo * 1e3, f32_ms / t.median);
        }
    }
}

}  // namespace
}  // namespace vitrt
