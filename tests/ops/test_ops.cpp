// Every op of every backend x precision against the reference backend (scalar, double
// accumulation), from one table of ops and shapes, in the spirit of ggml's test-backend-ops.
// Odd shapes on purpose: 197 and 577 tokens, batch 1 and 19, widths that are not multiples of 16.
// Inputs travel to the backend through allocate/upload and back through download, so the same
// table runs on host backends (cpu) and device backends (cuda; skipped where no GPU or plugin).
//
// Targets: (backend, precision). The precision is the linear weights' (and, for float precisions,
// the weightless ops'); a target whose backend does not support it skips with the reason.
//
// Tolerances (relative: |fast - ref| / (1 + |ref|), worst element), one row per precision:
//   f32:          dot products of length K: 1e-5 * sqrt(K) (f32 accumulation in another order
//                 than the double reference, inputs O(1)); norms, pooling: 2e-5; data movement: exact.
//   tf32 / bf16 / f16: the reference runs on the same inputs rounded to the precision (products of
//                 rounded values are exact in f32), so what is left is accumulation order: the f32
//                 bound, x4 for f16/tf32 outputs written back (one rounding each). bf16 attention
//                 also rounds the probabilities: + 2^-9 * max |v| (a convex combination of v rows).
//   w8a8-dynamic, w8a8: the reference is the exact integer twin (same activation quantization,
//                 int32 accumulation), so only the float dequantization differs: the f32 bound.
//   w8, w4:       weights dequantized exactly (q * scale) in both; the f32 bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "backends/ref/ref_ops.hpp"
#include "common/op_buffers.hpp"
#include "engine/backend_factory.hpp"
#include "quant/weight_quant.hpp"

namespace vitrt {
namespace {

using test::Buf;
using test::randn;
using test::zeros;

struct Target {
    const char* backend;
    const char* precision;
};
std::string target_name(const ::testing::TestParamInfo<Target>& i) {
    std::string s = std::string(i.param.backend) + "_" + i.param.precision;
    std::replace(s.begin(), s.end(), '-', '_');
    return s;
}

// Inputs a precision's kernels see: the reference gets them rounded the same way.
float round_to(Precision p, float v) {
    switch (p) {
        case Precision::bf16: return bf16_to_f32(f32_to_bf16(v));
        case Precision::f16: return f16_to_f32(f32_to_f16(v));
        case Precision::tf32: {  // 10 mantissa bits, round to nearest even
            uint32_t u;
            std::memcpy(&u, &v, 4);
            u = (u + 0xFFF + ((u >> 13) & 1)) & ~0x1FFFu;
            std::memcpy(&v, &u, 4);
            return v;
        }
        default: return v;
    }
}
// A new buffer (Buf copies share storage) holding b rounded to p (a plain copy for f32).
Buf rounded(Precision p, const Buf& b) {
    Buf r = zeros(b.host.view.shape);
    for (int64_t i = 0; i < b.host.view.numel(); ++i) r.host.mutable_f32()[i] = round_to(p, b.host.f32()[i]);
    return r;
}
bool float_precision(Precision p) { return !precision_info(p).integer; }

double dot_tol(Precision p, double K) {
    const double f32 = 1e-5 * std::sqrt(K);
    return p == Precision::f16 || p == Precision::tf32 ? 4 * f32 : f32;
}

class OpTest : public ::testing::TestWithParam<Target> {
protected:
    void SetUp() override {
        p = parse_precision(GetParam().precision);
        BackendOptions o;
        o.activations = float_precision(p) ? p : Precision::f32;
        try {
            fast = make_backend(GetParam().backend, o);
        } catch (const DeviceUnavailable& e) {
            GTEST_SKIP() << e.what();
        } catch (const Error& e) {
            // A combination a host backend does not offer (cpu tf32) skips; the cuda backend offers
            // every float precision, so any error but DeviceUnavailable is a real failure there.
            if (std::string(GetParam().backend) == "cuda") FAIL() << "cuda " << GetParam().precision << ": " << e.what();
            GTEST_SKIP() << GetParam().backend << " " << GetParam().precision << ": " << e.what();
        }
        if (!fast->supports(p, WeightRole::linear))
            GTEST_SKIP() << "the " << GetParam().backend << " backend does not support " << GetParam().precision;
        ref = make_ref_ops();
    }

    // A buffer in the fast backend's memory, and back.
    struct Dev {
        std::shared_ptr<void> mem;
        Tensor t;
    };
    Dev dev(const Buf& b) {
        Dev d;
        d.mem = fast->allocate(b.host.view.nbytes() + 64);
        d.t = b.host.view;
        d.t.data = d.mem.get();
        fast->upload(d.t.data, b.host.view.data, b.host.view.nbytes());
        return d;
    }
    Buf host(const Dev& d) {
        Buf b = zeros(d.t.shape);
        fast->synchronize();
        fast->download(b.host.view.data, d.t.data, d.t.nbytes());
        return b;
    }
    void expect_close(const Dev& f, const Buf& r, double tol, const std::string& what) {
        test::expect_close(host(f), r, tol, what + " [" + GetParam().backend + " " + GetParam().precision + "]");
    }

    // The same weight for both backends in the target's precision (integer: one quantization).
    struct Weights {
        Tensor fast, ref;
        Buf ref_input_w;  // unused for integer precisions
    };
    Weights linear_weight(const Buf& w) {
        Weights r;
        if (float_precision(p)) {
            r.fast = fast->prepare_weight(w.host, WeightSpec(WeightRole::linear, p));
            r.ref = ref->prepare_weight(rounded(p, w).host, WeightRole::linear);
        } else {
            QuantizedWeight q = quantize_weight(w.host, p, 32);
            if (p == Precision::w8a8) q.act_scale = 8.f / 255.f, q.act_zero_point = 128;  // inputs in [-4, 4]
            r.fast = fast->prepare_weight(HostTensor(), WeightSpec(WeightRole::linear, p, &q));
            r.ref = ref->prepare_weight(HostTensor(), WeightSpec(WeightRole::linear, p, &q));
        }
        return r;
    }
    // The activation the reference reads for a float precision's GEMM input.
    Buf gemm_input(const Buf& x) { return float_precision(p) ? rounded(p, x) : x; }

    Precision p = Precision::f32;
    std::unique_ptr<Ops> fast, ref;
};

// ---- linear --------------------------------------------------------------------------------------

TEST_P(OpTest, LinearWithEveryFusion) {
    struct Case {
        int64_t M, K, N;
    };
    for (const Case c : {Case{197, 192, 576}, Case{19 * 197, 64, 100}, Case{577, 768, 3072}, Case{1, 768, 1000},
                         Case{3, 17, 5}, Case{8, 33, 7}}) {
        Buf x = randn({c.M, c.K}, 1), w = randn({c.N, c.K}, 2, 1.f / std::sqrt(float(c.K)));
        Buf bias = randn({c.N}, 3);
        Weights W = linear_weight(w);
        Dev xf = dev(x), bf = dev(bias);
        for (int variant = 0; variant < 4; ++variant) {
            LinearOpts orf, of;
            if (variant >= 1) orf.bias = &bias.host.view, of.bias = &bf.t;
            if (variant == 1 || variant == 3) orf.act = of.act = Activation::gelu_erf;
            Buf yr = variant >= 2 ? randn({c.M, c.N}, 5) : zeros({c.M, c.N});
            Dev yf = dev(yr);
            if (variant >= 2) orf.residual = &yr.host.view, of.residual = &yf.t;  // in place, as models use it
            ref->linear(gemm_input(x).t(), W.ref, yr.t(), orf);
            fast->linear(xf.t, W.fast, yf.t, of);
            expect_close(yf, yr, dot_tol(p, double(c.K)),
                         "linear M=" + std::to_string(c.M) + " K=" + std::to_string(c.K) + " N=" +
                             std::to_string(c.N) + " variant " + std::to_string(variant));
        }
    }
}

TEST_P(OpTest, LinearResidualFromAnotherBuffer) {
    Buf x = randn({19, 33}, 1), w = randn({7, 33}, 2), res = randn({19, 7}, 3);
    Weights W = linear_weight(w);
    Dev xf = dev(x), rf = dev(res);
    LinearOpts orf, of;
    orf.residual = &res.host.view, of.residual = &rf.t;
    Buf yr = zeros({19, 7});
    Dev yf = dev(yr);
    ref->linear(gemm_input(x).t(), W.ref, yr.t(), orf);
    fast->linear(xf.t, W.fast, yf.t, of);
    expect_close(yf, yr, dot_tol(p, 33), "linear residual");
}

// Rows with very different magnitudes (LayerNorm outputs with outliers): per-token activation
// scales must follow each row.
TEST_P(OpTest, LinearRowsOfDifferentMagnitude) {
    Buf x = randn({37, 96}, 4), w = randn({50, 96}, 5, 0.1f);
    for (int64_t m = 0; m < 37; ++m)
        for (int64_t k = 0; k < 96; ++k) x.host.mutable_f32()[m * 96 + k] *= std::ldexp(1.f, int(m % 9) - 4);
    x.host.mutable_f32()[3 * 96 + 7] = 300.f;
    Weights W = linear_weight(w);
    Dev xf = dev(x);
    Buf yr = zeros({37, 50});
    Dev yf = dev(yr);
    ref->linear(gemm_input(x).t(), W.ref, yr.t(), {});
    fast->linear(xf.t, W.fast, yf.t, {});
    expect_close(yf, yr, dot_tol(p, 96) * 10, "linear with outliers");
}

// ---- weightless ops (float targets: the target's precision is the activation precision) -----------

TEST_P(OpTest, LayerNorm) {
    for (const Shape s : {Shape{1, 197, 192}, Shape{19, 577, 64}, Shape{5, 1000}, Shape{2, 3, 7}}) {
        Buf x = randn(s, 7, 3.f), g = randn({s.back()}, 8), b = randn({s.back()}, 9);
        x.host.mutable_f32()[0] += 50.f;  // an outlier, as real activations have
        Tensor gf = fast->prepare_weight(g.host, WeightRole::param), bf = fast->prepare_weight(b.host, WeightRole::param);
        Buf yr = zeros(s);
        Dev xf = dev(x), yf = dev(yr);
        ref->layernorm(x.t(), g.t(), b.t(), 1e-6f, yr.t());
        fast->layernorm(xf.t, gf, bf, 1e-6f, yf.t);
        expect_close(yf, yr, 2e-5, "layernorm " + shape_str(s));
        fast->layernorm(xf.t, gf, bf, 1e-6f, xf.t);  // in place
        expect_close(xf, yr, 2e-5, "layernorm in place " + shape_str(s));
    }
}

struct AttCase {
    int64_t B, T, heads, hd, rows;
};

double attention_tol(Precision act, const Buf& qkv, int64_t T, int64_t hd) {
    double t = 1e-5 * std::sqrt(double(T + hd));
    if (act == Precision::bf16 || act == Precision::f16) {
        float vmax = 0.f;
        for (int64_t i = 0; i < qkv.host.view.numel(); ++i) vmax = std::max(vmax, std::fabs(qkv.host.f32()[i]));
        t += std::ldexp(double(vmax), act == Precision::bf16 ? -8 : -10);
    }
    return t;
}

TEST_P(OpTest, AttentionAllRowsAndFirstRows) {
    const Precision act = float_precision(p) ? p : Precision::f32;
    for (const AttCase c : {AttCase{1, 197, 3, 64, 1}, AttCase{19, 197, 3, 64, 1}, AttCase{1, 577, 12, 64, 1},
                            AttCase{2, 257, 16, 80, 30}, AttCase{3, 50, 8, 32, 2}, AttCase{1, 5, 1, 7, 5},
                            AttCase{2, 17, 4, 128, 3}, AttCase{1, 49, 2, 96, 1}}) {
        const int64_t D = c.heads * c.hd;
        Buf qkv = randn({c.B, c.T, 3 * D}, 11, 1.5f);
        Buf yr = zeros({c.B, c.T, D});
        Dev qf = dev(qkv), yf = dev(yr), rf = dev(yr);
        const float scale = float(1.0 / std::sqrt(double(c.hd)));
        const std::string what = "attention B=" + std::to_string(c.B) + " T=" + std::to_string(c.T) +
                                 " heads=" + std::to_string(c.heads) + " hd=" + std::to_string(c.hd);
        ref->attention(rounded(act, qkv).t(), int(c.heads), scale, yr.t());
        fast->attention(qf.t, int(c.heads), scale, yf.t);
        const double tol = attention_tol(act, qkv, c.T, c.hd);
        expect_close(yf, yr, tol, what);
        // The first query rows only (the last ViT block with token pooling); every key still counts.
        fast->attention_rows(qf.t, int(c.heads), scale, c.rows, rf.t);
        Buf got = host(rf), fr = zeros({c.B, c.rows, D}), rr = zeros({c.B, c.rows, D});
        for (int64_t b = 0; b < c.B; ++b) {
            std::copy_n(got.host.f32() + b * c.T * D, c.rows * D, fr.host.mutable_f32() + b * c.rows * D);
            std::copy_n(yr.host.f32() + b * c.T * D, c.rows * D, rr.host.mutable_f32() + b * c.rows * D);
        }
        test::expect_close(fr, rr, tol, what + " first " + std::to_string(c.rows) + " rows");
    }
}

// Few tokens (T not a multiple of the vector width) with large scores: padded keys must not leak
// into the softmax (FastViT's last stage has 4..64 tokens).
TEST_P(OpTest, AttentionFewTokensLargeScores) {
    if (!float_precision(p) || p != Precision::f32) GTEST_SKIP() << "f32 attention only";
    for (int64_t T : {1, 2, 3, 4, 5, 16, 17, 49}) {
        for (float s : {5.f, 20.f}) {
            Buf qkv = randn({2, T, 3 * 16 * 32}, 13, s);
            Buf yr = zeros({2, T, 16 * 32});
            Dev qf = dev(qkv), yf = dev(yr);
            ref->attention(qkv.t(), 16, 1.f / std::sqrt(32.f), yr.t());
            fast->attention(qf.t, 16, 1.f / std::sqrt(32.f), yf.t);
            // Scores reach ~s^2 * sqrt(32): f32 rounding of a score of size S moves a probability by
            // ~S * 1e-7 relative; the test is for padding leaks (NaN / O(1) errors), not for that.
            expect_close(yf, yr, 2e-6 * s * s * std::sqrt(32.0), "attention T=" + std::to_string(T));
        }
    }
}

TEST_P(OpTest, PatchifyAssemblePoolCopy) {
    for (const auto& [B, P, H, W] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 16, 224, 224},
                                     {19, 14, 28, 42}, {2, 32, 64, 96}, {1, 8, 24, 16}}) {
        Buf img = randn({B, 3, H, W}, 21);
        const int64_t N = (H / P) * (W / P), F = 3 * P * P;
        Buf cr = zeros({B, N, F});
        Dev imf = dev(img), cf = dev(cr);
        ref->patchify(img.t(), int(P), cr.t());
        fast->patchify(imf.t, int(P), cf.t);
        expect_close(cf, cr, 0, "patchify");
        Dev copied = dev(zeros({B, N, F}));
        fast->copy(cf.t, copied.t);
        expect_close(copied, cr, 0, "copy");
    }
    const int64_t B = 19, N = 196, D = 40;
    for (int64_t Pf : {0, 1, 2, 5}) {
        for (bool skip : {false, true}) {
            Buf patches = randn({B, N, D}, 31), prefix = randn({std::max<int64_t>(Pf, 1), D}, 32);
            Buf pos = randn({(skip ? 0 : Pf) + N, D}, 33);
            Buf yr = zeros({B, Pf + N, D});
            Dev pf = dev(patches), yf = dev(yr);
            HostTensor pre_h = prefix.host;
            pre_h.view.shape = {std::max<int64_t>(Pf, 1), D};
            Tensor pre_f = fast->prepare_weight(pre_h, WeightRole::param), pos_f = fast->prepare_weight(pos.host, WeightRole::param);
            pre_f.shape = {Pf, D};
            Tensor pre_r = prefix.t();
            pre_r.shape = {Pf, D};
            ref->assemble_tokens(patches.t(), Pf ? &pre_r : nullptr, pos.t(), skip, yr.t());
            fast->assemble_tokens(pf.t, Pf ? &pre_f : nullptr, pos_f, skip, yf.t);
            expect_close(yf, yr, 0, "assemble_tokens Pf=" + std::to_string(Pf));
        }
    }
    Buf x = randn({B, 197, D}, 41);
    Dev xf = dev(x);
    for (auto [first, count] : {std::pair<int, int>{0, 1}, {1, 1}, {1, 196}, {0, 197}}) {
        Buf yr = zeros({B, D});
        Dev yf = dev(yr);
        ref->pool_tokens(x.t(), first, count, yr.t());
        fast->pool_tokens(xf.t, first, count, yf.t);
        expect_close(yf, yr, 2e-6, "pool_tokens");
    }
}

// ---- convolutional models (FastViT) -------------------------------------------------------------

struct ConvCase {
    const char* what;
    int64_t B, H, W, C, O, groups, k, stride, pad;
};

TEST_P(OpTest, Conv2dEveryKindAndFusion) {
    if (!fast->supports(Precision::f32, WeightRole::conv) && !fast->supports(p, WeightRole::conv))
        GTEST_SKIP() << "no conv2d on this backend";
    const Precision cp = fast->supports(p, WeightRole::conv) ? p : Precision::f32;
    const ConvCase cases[] = {
        {"stem 3x3/2 dense from RGB", 1, 33, 31, 3, 48, 1, 3, 2, 1},
        {"stem 3x3/2 dense from RGB", 19, 16, 16, 3, 16, 1, 3, 2, 1},
        {"depthwise 3x3/2", 2, 17, 18, 48, 48, 48, 3, 2, 1},
        {"depthwise 3x3 (RepMixer)", 19, 8, 8, 64, 64, 64, 3, 1, 1},
        {"depthwise 7x7 (ConvFFN, RepCPE)", 2, 17, 9, 40, 40, 40, 7, 1, 3},
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
        Tensor wr = ref->prepare_weight(rounded(cp, w).host, WeightRole::conv);
        Tensor wf = fast->prepare_weight(w.host, WeightSpec(WeightRole::conv, cp));
        Dev xf = dev(x), bf = dev(bias), otherf = dev(other);
        const Activation acts[] = {Activation::none, Activation::gelu_erf, Activation::relu, Activation::sigmoid,
                                   Activation::gelu_erf};
        for (int variant = 0; variant < 5; ++variant) {
            Conv2dOpts orf;
            orf.stride = int(c.stride), orf.pad = int(c.pad), orf.groups = int(c.groups);
            orf.act = acts[variant];
            Conv2dOpts of = orf;
            if (variant >= 1) orf.bias = &bias.host.view, of.bias = &bf.t;
            Buf yr = variant == 3 ? rounded(Precision::f32, other) : zeros({c.B, Ho, Wo, c.O});  // a copy
            Dev yf = dev(yr);
            if (variant == 3) orf.residual = &yr.host.view, of.residual = &yf.t;  // in place
            if (variant == 4) orf.residual = &other.host.view, of.residual = &otherf.t;
            ref->conv2d(rounded(cp, x).t(), wr, yr.t(), orf);
            fast->conv2d(xf.t, wf, yf.t, of);
            const std::string what = std::string(c.what) + " variant " + std::to_string(variant);
            expect_close(yf, yr, dot_tol(cp, double(K)), what);
            if (variant == 1) {  // again, through cached primitives and packed weights
                Dev again = dev(zeros({c.B, Ho, Wo, c.O}));
                fast->conv2d(xf.t, wf, again.t, of);
                expect_close(again, yr, dot_tol(cp, double(K)), what + " second call");
            }
        }
    }
}

TEST_P(OpTest, Conv2dRejectsInconsistentShapes) {
    if (!fast->supports(Precision::f32, WeightRole::conv)) GTEST_SKIP() << "no f32 conv2d on this backend";
    Buf x = randn({1, 8, 8, 16}, 1), w = randn({16, 1, 3, 3}, 2);
    Tensor wf = fast->prepare_weight(w.host, WeightRole::conv);
    Dev xf = dev(x), bad = dev(zeros({1, 7, 8, 16})), y = dev(zeros({1, 8, 8, 16}));
    Conv2dOpts o;
    o.pad = 1, o.groups = 16;
    EXPECT_THROW(fast->conv2d(xf.t, wf, bad.t, o), Error);
    o.groups = 4;  // Cin / groups = 4, but the kernel has 1 input channel per group
    EXPECT_THROW(fast->conv2d(xf.t, wf, y.t, o), Error);
}

TEST_P(OpTest, ToChannelsLastAndScaleChannels) {
    for (const Shape s : {Shape{1, 3, 256, 256}, Shape{19, 3, 17, 9}, Shape{2, 5, 1, 7}}) {
        Buf x = randn(s, 5), yr = zeros({s[0], s[2], s[3], s[1]});
        Dev xf = dev(x), yf = dev(yr);
        ref->to_channels_last(x.t(), yr.t());
        fast->to_channels_last(xf.t, yf.t);
        expect_close(yf, yr, 0, "to_channels_last " + shape_str(s));
    }
    for (const Shape s : {Shape{1, 64, 768}, Shape{19, 49, 76}, Shape{2, 1, 5}, Shape{3, 7, 33}}) {
        for (Activation act : {Activation::none, Activation::gelu_erf, Activation::sigmoid, Activation::relu}) {
            Buf x = randn(s, 6, 3.f), gate = randn({s[0], s[2]}, 7), yr = zeros(s);
            Dev xf = dev(x), gf = dev(gate), yf = dev(yr);
            ref->scale_channels(x.t(), gate.t(), act, yr.t());
            fast->scale_channels(xf.t, gf.t, act, yf.t);
            expect_close(yf, yr, 2e-5, "scale_channels " + shape_str(s));
            fast->scale_channels(xf.t, gf.t, act, xf.t);  // in place
            expect_close(xf, yr, 2e-5, "scale_channels in place " + shape_str(s));
        }
    }
}

// ---- weights: ownership and precision are checked ------------------------------------------------

TEST_P(OpTest, ForeignOrMisusedWeightsAreClearErrors) {
    Buf x = randn({4, 8}, 1), w = randn({3, 8}, 2), y = zeros({4, 3});
    Dev xf = dev(x), yf = dev(y);
    Tensor from_ref = ref->prepare_weight(w.host, WeightRole::linear);
    EXPECT_THROW(fast->linear(xf.t, from_ref, yf.t, {}), Error);
    Tensor as_param = fast->prepare_weight(w.host, WeightRole::param);
    EXPECT_THROW(fast->linear(xf.t, as_param, yf.t, {}), Error);
    EXPECT_THROW(fast->linear(xf.t, Tensor{nullptr, DType::f32, {3, 8}}, yf.t, {}), Error);
}

const Target kTargets[] = {
    {"cpu", "f32"}, {"cpu", "bf16"}, {"cpu", "w8a8-dynamic"}, {"cpu", "w8a8"}, {"cpu", "w8"}, {"cpu", "w4"},
    {"cuda", "f32"}, {"cuda", "tf32"}, {"cuda", "bf16"}, {"cuda", "f16"},
};
INSTANTIATE_TEST_SUITE_P(Ops, OpTest, ::testing::ValuesIn(kTargets), target_name);

// Which int8 GEMM runs is logged, never silent: oneDNN's VNNI kernels, or the exact fallback where
// oneDNN's ISA has no VNNI (ONEDNN_MAX_CPU_ISA=AVX2 / AVX512_CORE, older CPUs).
TEST(OpTargets, CpuDetailsNameTheInt8Path) {
    const std::string d = make_backend("cpu")->details();
    const bool vnni = d.find("ISA avx512_core_vnni") != std::string::npos ||
                      d.find("ISA avx512_core_bf16") != std::string::npos ||
                      d.find("ISA avx512_core_amx") != std::string::npos || d.find("ISA avx2_vnni") != std::string::npos;
    EXPECT_NE(d.find(vnni ? "int8 GEMMs: oneDNN VNNI" : "int8 GEMMs: exact fallback (no VNNI)"), std::string::npos) << d;
}

TEST(OpTargets, UnknownBackendsAndPrecisionsAreClearErrors) {
    EXPECT_THROW(make_backend("tpu"), Error);
    EXPECT_THROW(parse_precision("int3"), Error);
    BackendOptions o;
    o.activations = Precision::f16;
    EXPECT_THROW(make_backend("cpu", o), Error);
    o.activations = Precision::bf16;
    EXPECT_THROW(make_backend("ref", o), Error);
}

}  // namespace
}  // namespace vitrt
