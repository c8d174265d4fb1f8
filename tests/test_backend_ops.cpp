// Every op of every fast backend against the reference backend (scalar, double accumulation),
// on odd shapes (197 and 577 tokens, batch 1 and 19, widths that are not multiples of 16).
//
// Tolerance: |fast - ref| <= 2e-5 * (1 + |ref|) for data movement and norms, and
// <= 1e-5 * sqrt(K) * (1 + |ref|) for dot-product ops of length K: f32 accumulation in a
// different order than the double reference, inputs O(1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "backends/cpu/kernels.hpp"
#include "backends/ref/ref_ops.hpp"
#include "common/op_buffers.hpp"
#include "engine/backend_factory.hpp"

namespace vitrt {
namespace {

using test::Buf;
using test::expect_close;
using test::randn;
using test::zeros;


class BackendOps : public ::testing::TestWithParam<std::string> {
protected:
    std::unique_ptr<Ops> fast = make_backend(GetParam(), 0);
    std::unique_ptr<Ops> ref = make_ref_ops();
};

TEST_P(BackendOps, LinearWithEveryFusion) {
    struct Case {
        int64_t M, K, N;
    };
    for (const Case c : {Case{197, 192, 576}, Case{19 * 197, 64, 100}, Case{577, 768, 3072}, Case{1, 768, 1000},
                         Case{3, 17, 5}}) {
        for (int variant = 0; variant < 4; ++variant) {
            Buf x = randn({c.M, c.K}, 1), w = randn({c.N, c.K}, 2, 1.f / std::sqrt(float(c.K)));
            Buf bias = randn({c.N}, 3), scale = randn({c.N}, 4), res = randn({c.M, c.N}, 5);
            LinearOpts o;
            if (variant >= 1) o.bias = &bias.host.view;
            if (variant == 1 || variant == 3) o.act = Activation::gelu_erf;
            if (variant >= 2) o.scale = &scale.host.view;
            Buf yr = zeros({c.M, c.N}), yf = zeros({c.M, c.N});
            if (variant >= 2) {  // residual in place, as the models use it
                yr = randn({c.M, c.N}, 5);
                yf = randn({c.M, c.N}, 5);
            }
            LinearOpts of = o, orf = o;
            if (variant >= 2) {
                of.residual = &yf.host.view;
                orf.residual = &yr.host.view;
            }
            Tensor wr = ref->prepare_weight(w.host, WeightRole::linear);
            Tensor wf = fast->prepare_weight(w.host, WeightRole::linear);
            ref->linear(x.t(), wr, yr.t(), orf);
            fast->linear(x.t(), wf, yf.t(), of);
            expect_close(yf, yr, 1e-5 * std::sqrt(double(c.K)),
                         "linear M=" + std::to_string(c.M) + " K=" + std::to_string(c.K) + " N=" + std::to_string(c.N) +
                             " variant " + std::to_string(variant));
        }
    }
}

TEST_P(BackendOps, LinearResidualFromAnotherBuffer) {
    Buf x = randn({19, 33}, 1), w = randn({7, 33}, 2), res = randn({19, 7}, 3);
    LinearOpts o;
    o.residual = &res.host.view;
    Buf yr = zeros({19, 7}), yf = zeros({19, 7});
    ref->linear(x.t(), ref->prepare_weight(w.host, WeightRole::linear), yr.t(), o);
    fast->linear(x.t(), fast->prepare_weight(w.host, WeightRole::linear), yf.t(), o);
    expect_close(yf, yr, 1e-5 * std::sqrt(33.0), "linear residual");
}

TEST_P(BackendOps, LayerNorm) {
    for (const Shape s : {Shape{1, 197, 192}, Shape{19, 577, 64}, Shape{5, 1000}, Shape{2, 3, 7}}) {
        Buf x = randn(s, 7, 3.f), g = randn({s.back()}, 8), b = randn({s.back()}, 9);
        x.host.mutable_f32()[0] += 50.f;  // an outlier, as real activations have
        Buf yr = zeros(s), yf = zeros(s);
        ref->layernorm(x.t(), g.t(), b.t(), 1e-6f, yr.t());
        fast->layernorm(x.t(), g.t(), b.t(), 1e-6f, yf.t());
        expect_close(yf, yr, 2e-5, "layernorm " + shape_str(s));
        // In place.
        fast->layernorm(x.t(), g.t(), b.t(), 1e-6f, x.t());
        expect_close(x, yr, 2e-5, "layernorm in place " + shape_str(s));
    }
}

TEST_P(BackendOps, Attention) {
    struct Case {
        int64_t B, T, heads, hd;
    };
    for (const Case c : {Case{1, 197, 3, 64}, Case{19, 197, 3, 64}, Case{1, 577, 12, 64}, Case{2, 257, 16, 80},
                         Case{3, 50, 8, 32}, Case{1, 5, 1, 7}}) {
        const int64_t D = c.heads * c.hd;
        Buf qkv = randn({c.B, c.T, 3 * D}, 11, 1.5f);
        Buf yr = zeros({c.B, c.T, D}), yf = zeros({c.B, c.T, D});
        const float scale = float(1.0 / std::sqrt(double(c.hd)));
        ref->attention(qkv.t(), int(c.heads), scale, yr.t());
        fast->attention(qkv.t(), int(c.heads), scale, yf.t());
        expect_close(yf, yr, 1e-5 * std::sqrt(double(c.T + c.hd)),
                     "attention B=" + std::to_string(c.B) + " T=" + std::to_string(c.T));
    }
}

// attention_rows: the first query rows of every image, as the full attention computes them (the
// last ViT block with token pooling); every key still counts.
TEST_P(BackendOps, AttentionFirstRowsOnly) {
    struct Case {
        int64_t B, T, heads, hd, rows;
    };
    for (const Case c : {Case{1, 197, 12, 64, 1}, Case{8, 197, 3, 64, 1}, Case{3, 198, 6, 64, 2}, Case{2, 50, 4, 80, 30},
                         Case{1, 5, 1, 7, 5}}) {
        const int64_t D = c.heads * c.hd;
        Buf qkv = randn({c.B, c.T, 3 * D}, 12, 1.5f);
        Buf yr = zeros({c.B, c.T, D}), yf = zeros({c.B, c.T, D});
        const float scale = float(1.0 / std::sqrt(double(c.hd)));
        ref->attention(qkv.t(), int(c.heads), scale, yr.t());
        fast->attention_rows(qkv.t(), int(c.heads), scale, c.rows, yf.t());
        Buf fr = zeros({c.B, c.rows, D}), rr = zeros({c.B, c.rows, D});
        for (int64_t b = 0; b < c.B; ++b) {
            std::copy_n(yf.host.f32() + b * c.T * D, c.rows * D, fr.host.mutable_f32() + b * c.rows * D);
            std::copy_n(yr.host.f32() + b * c.T * D, c.rows * D, rr.host.mutable_f32() + b * c.rows * D);
        }
        expect_close(fr, rr, 1e-5 * std::sqrt(double(c.T + c.hd)),
                     "attention_rows B=" + std::to_string(c.B) + " T=" + std::to_string(c.T) + " rows " +
                         std::to_string(c.rows));
    }
}

TEST_P(BackendOps, PatchifyAssemblePool) {
    for (const auto& [B, P, H, W] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 16, 224, 224},
                                     {19, 14, 28, 42}, {2, 32, 64, 96}, {1, 8, 24, 16}}) {
        Buf img = randn({B, 3, H, W}, 21);
        const int64_t N = (H / P) * (W / P), F = 3 * P * P;
        Buf cr = zeros({B, N, F}), cf = zeros({B, N, F});
        ref->patchify(img.t(), int(P), cr.t());
        fast->patchify(img.t(), int(P), cf.t());
        expect_close(cf, cr, 0, "patchify");
    }
    const int64_t B = 19, N = 196, D = 40;
    for (int64_t Pf : {0, 1, 2, 5}) {
        for (bool skip : {false, true}) {
            Buf patches = randn({B, N, D}, 31), prefix = randn({std::max<int64_t>(Pf, 1), D}, 32);
            Buf pos = randn({(skip ? 0 : Pf) + N, D}, 33);
            Buf yr = zeros({B, Pf + N, D}), yf = zeros({B, Pf + N, D});
            Tensor pre = prefix.t();
            pre.shape = {Pf, D};
            ref->assemble_tokens(patches.t(), Pf ? &pre : nullptr, pos.t(), skip, yr.t());
            fast->assemble_tokens(patches.t(), Pf ? &pre : nullptr, pos.t(), skip, yf.t());
            expect_close(yf, yr, 0, "assemble_tokens Pf=" + std::to_string(Pf));
        }
    }
    Buf x = randn({B, 197, D}, 41);
    for (auto [first, count] : {std::pair<int, int>{0, 1}, {1, 1}, {1, 196}, {0, 197}}) {
        Buf yr = zeros({B, D}), yf = zeros({B, D});
        ref->pool_tokens(x.t(), first, count, yr.t());
        fast->pool_tokens(x.t(), first, count, yf.t());
        expect_close(yf, yr, 2e-6, "pool_tokens");
    }
}

// Few tokens (T not a multiple of the vector width) with large scores: padded keys must not leak
// into the softmax (FastViT's last stage has 4..64 tokens).
TEST_P(BackendOps, AttentionFewTokensLargeScores) {
    for (int64_t T : {1, 2, 3, 4, 5, 16, 17, 49}) {
        for (float s : {5.f, 20.f}) {
            Buf qkv = randn({2, T, 3 * 16 * 32}, 13, s);
            Buf yr = zeros({2, T, 16 * 32}), yf = zeros({2, T, 16 * 32});
            ref->attention(qkv.t(), 16, 1.f / std::sqrt(32.f), yr.t());
            fast->attention(qkv.t(), 16, 1.f / std::sqrt(32.f), yf.t());
            // Scores reach ~s^2 * sqrt(32): f32 rounding of a score of size S moves a probability by
            // ~S * 1e-7 relative; the test is for padding leaks (NaN / O(1) errors), not for that.
            const double tol = 2e-6 * s * s * std::sqrt(32.0);
            expect_close(yf, yr, tol, "attention T=" + std::to_string(T) + " scale " + std::to_string(s));
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Cpu, BackendOps, ::testing::Values("cpu"));

// bf16 GEMMs: the reference runs on the same bf16-rounded weights and activations, so the only
// difference left is f32 accumulation order (bf16 x bf16 products are exact in f32): same
// tolerance as f32.
Buf rounded_bf16(const Buf& b) {
    Buf r{HostTensor::zeros_f32(b.host.view.shape)};
    for (int64_t i = 0; i < b.host.view.numel(); ++i) r.host.mutable_f32()[i] = bf16_to_f32(f32_to_bf16(b.host.f32()[i]));
    return r;
}

TEST(BackendOpsBf16, LinearMatchesReferenceOnRoundedInputs) {
    std::unique_ptr<Ops> fast;
    try {
        fast = make_backend("cpu", 0, "bf16");
    } catch (const Error& e) {
        GTEST_SKIP() << e.what();
    }
    auto ref = make_ref_ops();
    for (const auto& [M, K, N] : {std::tuple<int64_t, int64_t, int64_t>{197, 192, 576}, {19 * 50, 768, 100}, {3, 17, 5}}) {
        Buf x = randn({M, K}, 1), w = randn({N, K}, 2, 1.f / std::sqrt(float(K)));
        Buf bias = randn({N}, 3), scale = randn({N}, 4);
        Buf yr = randn({M, N}, 5), yf = randn({M, N}, 5);
        LinearOpts o;
        o.bias = &bias.host.view;
        o.act = Activation::gelu_erf;
        o.scale = &scale.host.view;
        LinearOpts of = o, orf = o;
        of.residual = &yf.host.view;
        orf.residual = &yr.host.view;
        Buf xr = rounded_bf16(x), wr = rounded_bf16(w);
        ref->linear(xr.t(), ref->prepare_weight(wr.host, WeightRole::linear), yr.t(), orf);
        fast->linear(x.t(), fast->prepare_weight(w.host, WeightRole::linear), yf.t(), of);
        expect_close(yf, yr, 1e-5 * std::sqrt(double(K)), "bf16 linear K=" + std::to_string(K));
    }
}

// bf16 attention (AVX512-BF16): the reference runs on the same bf16-rounded q, k, v; what is left
// is the rounding of the probabilities to bf16 and f32 accumulation order. Each probability moves
// by at most 2^-9 relative, so an output (a convex combination of v rows) moves by at most
// 2^-9 * max |v|: that bound (+ the f32 tolerance) is the tolerance. Observed: <= 0.45 of it.
TEST(BackendOpsBf16, AttentionMatchesReferenceOnRoundedInputs) {
    if (!cpu::cpu_has_avx512_bf16()) GTEST_SKIP() << "this CPU has no AVX512-BF16";
    auto ref = make_ref_ops();
    struct Case {
        int64_t B, T, heads, hd;
    };
    for (const Case c : {Case{1, 197, 3, 64}, Case{2, 577, 12, 64}, Case{2, 257, 16, 80}, Case{3, 50, 8, 32},
                         Case{1, 5, 1, 7}, Case{2, 17, 4, 128}, Case{1, 49, 2, 96}}) {
        const int64_t D = c.heads * c.hd;
        Buf qkv = randn({c.B, c.T, 3 * D}, 11, 1.5f);
        Buf yr = zeros({c.B, c.T, D}), yf = zeros({c.B, c.T, D});
        const float scale = float(1.0 / std::sqrt(double(c.hd)));
        ref->attention(rounded_bf16(qkv).t(), int(c.heads), scale, yr.t());
        cpu::attention_bf16(qkv.host.f32(), c.B, c.T, c.heads, c.hd, scale, yf.host.mutable_f32());
        float vmax = 0.f;
        for (int64_t i = 0; i < qkv.host.view.numel(); ++i) vmax = std::max(vmax, std::fabs(qkv.host.f32()[i]));
        const double tol = std::ldexp(double(vmax), -9) + 1e-5 * std::sqrt(double(c.T + c.hd));
        expect_close(yf, yr, tol, "bf16 attention B=" + std::to_string(c.B) + " T=" + std::to_string(c.T) +
                                       " hd=" + std::to_string(c.hd));
        // The first query rows only (the last ViT block with token pooling): the same values.
        const int64_t rows = std::min<int64_t>(2, c.T);
        Buf yq = zeros({c.B, c.T, D});
        cpu::attention_bf16(qkv.host.f32(), c.B, c.T, c.heads, c.hd, scale, yq.host.mutable_f32(), rows);
        for (int64_t b = 0; b < c.B; ++b)
            for (int64_t i = 0; i < rows * D; ++i)
                ASSERT_EQ(yq.host.f32()[b * c.T * D + i], yf.host.f32()[b * c.T * D + i]) << "bf16 attention rows";
    }
}

TEST(BackendOpsBf16, UnsupportedPrecisionsAreClearErrors) {
    EXPECT_THROW(make_backend("cpu", 0, "f16"), Error);
    EXPECT_THROW(make_backend("ref", 0, "bf16"), Error);
    EXPECT_THROW(make_backend("cpu", 0, "int3"), Error);
}

}  // namespace
}  // namespace vitrt
