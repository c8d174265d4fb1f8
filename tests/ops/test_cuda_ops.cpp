// Every op of the cuda backend against the ref backend (scalar, double accumulation), on odd shapes
// (197, 257, 577, 785 tokens; batch 1, 2, 19; widths that are no multiple of 16), per precision, with
// activations declared f32 (as vit.cpp allocates them) and, for f16/bf16, in the compute dtype.
// Every GPU test skips with a message when no CUDA GPU or no plugin is present (VITRT_REQUIRE_CUDA,
// on vitrt::DeviceUnavailable); any other error is a failure.
// Prepared weights are kept in named variables until the ops that read them have run (ops are
// queued until a flush); TemporaryWeightStaysAliveUntilItsLaunchRuns checks the backend also
// survives a caller who does not.
//
// The reference runs on the inputs rounded the way the GPU sees them (weights in the compute
// dtype; GEMM inputs and 16-bit activations rounded to it), so what is left is accumulation order,
// the rounding of intermediates and outputs, and documented approximations.
// Error measure: max |gpu - ref| / (1 + |ref|). Tolerances:
//   data movement (im2col, token assembly, pooling, layout): 1e-6 in f32 (sums in another order),
//     plus the output rounding when the output is 16-bit (bf16 2^-8, f16 2^-10: one ulp);
//   f32 GEMMs, attention, LayerNorm, conv: 1e-4 (f32 accumulation in another order than double);
//   tf32 GEMMs: 1e-2 (operands rounded to 10-bit mantissas inside cuBLASLt: ~2^-11 relative per
//     product, ~7e-4 rms on these O(1) outputs, 1e-2 is > 10 sigma);
//   f16/bf16 GEMMs: 1e-3 (+ one output ulp for 16-bit outputs): products of rounded operands are
//     exact in f32, so what is left is accumulation order; GELU is exact erf in every precision
//     (a 16-bit output is rounded before and after the GELU pass: the ulp term);
//   f16/bf16 attention: 2e-3 (f16) / 1e-2 (bf16): the probabilities P are rounded to the compute
//     dtype before P V (relative 2^-11 / 2^-9 each), on values of |v| up to ~7.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/ref/ref_ops.hpp"
#include "common/cuda_util.hpp"

namespace vitrt {
namespace {

using test::DevTensor;
using test::rounded;
using test::to_device;
using test::to_host;

HostTensor randn(const Shape& s, uint32_t seed, float scale = 1.f) {
    HostTensor h = HostTensor::zeros_f32(s);
    std::mt19937 g(seed);
    std::normal_distribution<float> n(0.f, scale);
    for (int64_t i = 0; i < h.view.numel(); ++i) h.mutable_f32()[i] = n(g);
    return h;
}

double worst_error(const HostTensor& got, const HostTensor& ref) {
    EXPECT_EQ(got.view.numel(), ref.view.numel());
    double worst = 0;
    for (int64_t i = 0; i < ref.view.numel(); ++i) {
        const double r = ref.f32()[i], f = got.f32()[i];
        const double err = std::fabs(f - r) / (1.0 + std::fabs(r));
        if (!(err <= worst)) worst = err;  // NaN sticks
    }
    return worst;
}

#define EXPECT_CLOSE(got, ref, tol, what)                                                          \
    do {                                                                                           \
        const double e_ = worst_error(got, ref);                                                   \
        EXPECT_LE(e_, tol) << (what);                                                              \
    } while (0)

struct Precision {
    const char* token;
    DType compute;
    bool tf32;
};

void PrintTo(const Precision& p, std::ostream* os) { *os << p.token; }

std::string precision_name(const ::testing::TestParamInfo<Precision>& i) { return i.param.token; }

// One output ulp of a 16-bit dtype (relative), 0 for f32.
double ulp(DType t) { return t == DType::bf16 ? 1.0 / 256 : t == DType::f16 ? 1.0 / 1024 : 0.0; }

class CudaOps : public ::testing::TestWithParam<Precision> {
protected:
    void SetUp() override {
        VITRT_REQUIRE_CUDA();
        gpu = make_backend("cuda", BackendOptions{0, parse_precision(GetParam().token)});
        ref = make_ref_ops();
    }
    DType cdt() const { return GetParam().compute; }
    bool half() const { return cdt() != DType::f32; }
    // Activation dtypes to try: f32 always; the compute dtype too for f16/bf16.
    std::vector<DType> act_types() const { return half() ? std::vector<DType>{DType::f32, cdt()} : std::vector<DType>{DType::f32}; }
    double gemm_tol() const { return GetParam().tf32 ? 1e-2 : half() ? 1e-3 : 1e-4; }
    Tensor ref_w(const HostTensor& w, WeightRole role) { return ref->prepare_weight(rounded(w, cdt()), role); }
    // A weight prepared by the GPU backend in its own precision (params stay f32).
    Tensor gpu_w(const HostTensor& w, WeightRole role) {
        return gpu->prepare_weight(w, WeightSpec(role, role == WeightRole::param ? vitrt::Precision::f32
                                                                                  : parse_precision(GetParam().token)));
    }

    std::unique_ptr<Ops> gpu, ref;
};

TEST_P(CudaOps, LinearWithEveryFusion) {
    struct Case {
        int64_t M, K, N;
    };
    for (DType at : act_types()) {
        for (const Case c : {Case{197, 192, 576}, Case{19 * 197, 64, 100}, Case{577, 768, 3072}, Case{1, 768, 1000},
                             Case{3, 17, 5}}) {
            for (int variant = 0; variant < 6; ++variant) {
                // 0 plain, 1 bias+gelu, 2 bias+residual, 3 bias+gelu+residual, 4 bias+relu, 5 bias+residual
                HostTensor x = randn({c.M, c.K}, 1), w = randn({c.N, c.K}, 2, 1.f / std::sqrt(float(c.K)));
                HostTensor bias = randn({c.N}, 3), res = randn({c.M, c.N}, 5);
                const bool has_res = variant == 2 || variant == 3 || variant == 5;
                Tensor bg = gpu_w(bias, WeightRole::param), br = ref->prepare_weight(bias, WeightRole::param);
                const Tensor wg = gpu_w(w, WeightRole::linear);
                LinearOpts og, orf;
                if (variant >= 1) og.bias = &bg, orf.bias = &br;
                if (variant == 1 || variant == 3) og.act = orf.act = Activation::gelu_erf;
                if (variant == 4) og.act = orf.act = Activation::relu;
                
                // GPU: x, y (= residual, in place as the models use it) in dtype at.
                DevTensor xg = to_device(*gpu, x, at);
                DevTensor yg = to_device(*gpu, has_res ? res : HostTensor::zeros_f32({c.M, c.N}), at);
                if (has_res) og.residual = &yg.t;
                gpu->linear(xg.t, wg, yg.t, og);
                // Reference on what the GPU sees.
                HostTensor xr = rounded(x, half() ? cdt() : DType::f32);
                HostTensor yr = has_res ? rounded(res, at) : HostTensor::zeros_f32({c.M, c.N});
                if (has_res) orf.residual = &yr.view;
                ref->linear(xr.view, ref_w(w, WeightRole::linear), yr.view, orf);
                EXPECT_CLOSE(to_host(*gpu, yg.t), yr, gemm_tol() + ulp(at),
                             "linear M=" + std::to_string(c.M) + " K=" + std::to_string(c.K) + " N=" +
                                 std::to_string(c.N) + " variant " + std::to_string(variant) + " act dtype " + dtype_name(at));
            }
        }
    }
}

TEST_P(CudaOps, LinearSigmoidAndResidualFromAnotherBuffer) {
    HostTensor x = randn({19, 33}, 1), w = randn({7, 33}, 2), res = randn({19, 7}, 3), bias = randn({7}, 4);
    DevTensor xg = to_device(*gpu, x, DType::f32), rg = to_device(*gpu, res, DType::f32);
    DevTensor yg = to_device(*gpu, HostTensor::zeros_f32({19, 7}), DType::f32);
    Tensor bg = gpu_w(bias, WeightRole::param);
    const Tensor wg = gpu_w(w, WeightRole::linear);
    LinearOpts og, orf;
    og.residual = &rg.t;
    orf.residual = &res.view;
    gpu->linear(xg.t, wg, yg.t, og);
    HostTensor yr = HostTensor::zeros_f32({19, 7});
    ref->linear(rounded(x, cdt()).view, ref_w(w, WeightRole::linear), yr.view, orf);
    EXPECT_CLOSE(to_host(*gpu, yg.t), yr, gemm_tol() * std::sqrt(33.0 / 8), "linear residual from another buffer");

    LinearOpts sg, sr;
    Tensor bref = ref->prepare_weight(bias, WeightRole::param);
    sg.bias = &bg, sr.bias = &bref;
    sg.act = sr.act = Activation::sigmoid;
    gpu->linear(xg.t, wg, yg.t, sg);
    ref->linear(rounded(x, cdt()).view, ref_w(w, WeightRole::linear), yr.view, sr);
    EXPECT_CLOSE(to_host(*gpu, yg.t), yr, gemm_tol() * std::sqrt(33.0 / 8), "linear sigmoid");
}

TEST_P(CudaOps, LayerNorm) {
    for (DType xt : act_types()) {
        for (DType yt : act_types()) {
            for (const Shape s : {Shape{1, 197, 192}, Shape{19, 577, 64}, Shape{5, 1000}, Shape{2, 3, 7}, Shape{3, 1280}}) {
                HostTensor x = randn(s, 7, 3.f), g = randn({s.back()}, 8), b = randn({s.back()}, 9);
                x.mutable_f32()[0] += 50.f;  // an outlier, as real activations have
                Tensor gg = gpu_w(g, WeightRole::param), bb = gpu_w(b, WeightRole::param);
                DevTensor xg = to_device(*gpu, x, xt), yg = to_device(*gpu, HostTensor::zeros_f32(s), yt);
                HostTensor xr = rounded(x, xt), yr = HostTensor::zeros_f32(s);
                ref->layernorm(xr.view, g.view, b.view, 1e-6f, yr.view);
                gpu->layernorm(xg.t, gg, bb, 1e-6f, yg.t);
                const std::string what = "layernorm " + shape_str(s) + " " + dtype_name(xt) + " -> " + dtype_name(yt);
                EXPECT_CLOSE(to_host(*gpu, yg.t), yr, 1e-4 + ulp(yt), what);
                if (xt == yt) {  // in place
                    gpu->layernorm(xg.t, gg, bb, 1e-6f, xg.t);
                    EXPECT_CLOSE(to_host(*gpu, xg.t), yr, 1e-4 + ulp(yt), what + " in place");
                }
            }
        }
    }
}

TEST_P(CudaOps, Attention) {
    struct Case {
        int64_t B, T, heads, hd;
    };
    for (DType at : act_types()) {
        for (const Case c : {Case{1, 197, 3, 64}, Case{19, 197, 3, 64}, Case{1, 577, 12, 64}, Case{2, 257, 16, 80},
                             Case{1, 785, 4, 64}, Case{3, 50, 8, 32}, Case{2, 65, 2, 128}, Case{1, 100, 2, 96},
                             Case{1, 5, 1, 7}, Case{2, 40, 2, 48}}) {
            const int64_t D = c.heads * c.hd;
            HostTensor qkv = randn({c.B, c.T, 3 * D}, 11, 1.5f);
            const bool tc = half() && (c.hd == 32 || c.hd == 64 || c.hd == 80 || c.hd == 96 || c.hd == 128);
            // Tensor-core path: q, k, v rounded to the compute dtype inside the kernel.
            HostTensor qr = rounded(rounded(qkv, at), tc ? cdt() : DType::f32);
            HostTensor yr = HostTensor::zeros_f32({c.B, c.T, D});
            const float scale = float(1.0 / std::sqrt(double(c.hd)));
            ref->attention(qr.view, int(c.heads), scale, yr.view);
            DevTensor qg = to_device(*gpu, qkv, at), yg = to_device(*gpu, HostTensor::zeros_f32({c.B, c.T, D}), at);
            gpu->attention(qg.t, int(c.heads), scale, yg.t);
            const double tol = !tc ? 1e-4 : cdt() == DType::bf16 ? 1e-2 : 2e-3;
            EXPECT_CLOSE(to_host(*gpu, yg.t), yr, tol + ulp(at),
                         "attention B=" + std::to_string(c.B) + " T=" + std::to_string(c.T) + " heads=" +
                             std::to_string(c.heads) + " hd=" + std::to_string(c.hd) + " " + dtype_name(at));
        }
    }
}

TEST_P(CudaOps, PatchifyAssemblePool) {
    for (DType at : act_types()) {
        for (const auto& [B, P, H, W] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 16, 224, 224},
                                         {19, 14, 28, 42}, {2, 32, 64, 96}, {1, 8, 24, 16}}) {
            HostTensor img = randn({B, 3, H, W}, 21);
            const int64_t N = (H / P) * (W / P), F = 3 * P * P;
            HostTensor cr = HostTensor::zeros_f32({B, N, F});
            ref->patchify(img.view, int(P), cr.view);
            DevTensor ig = to_device(*gpu, img, DType::f32), cg = to_device(*gpu, cr, at);
            gpu->patchify(ig.t, int(P), cg.t);
            EXPECT_CLOSE(to_host(*gpu, cg.t), cr, ulp(at), "patchify P=" + std::to_string(P));
        }
        const int64_t B = 19, N = 196, D = 40;
        for (int64_t Pf : {0, 1, 2, 5}) {
            for (bool skip : {false, true}) {
                HostTensor patches = randn({B, N, D}, 31), prefix = randn({std::max<int64_t>(Pf, 1), D}, 32);
                HostTensor pos = randn({(skip ? 0 : Pf) + N, D}, 33);
                prefix.view.shape = {Pf, D};
                HostTensor pr = rounded(patches, at), yr = HostTensor::zeros_f32({B, Pf + N, D});
                ref->assemble_tokens(pr.view, Pf ? &prefix.view : nullptr, pos.view, skip, yr.view);
                Tensor preg = gpu_w(prefix, WeightRole::param), posg = gpu_w(pos, WeightRole::param);
                DevTensor pg = to_device(*gpu, patches, at), yg = to_device(*gpu, yr, at);
                gpu->assemble_tokens(pg.t, Pf ? &preg : nullptr, posg, skip, yg.t);
                EXPECT_CLOSE(to_host(*gpu, yg.t), yr, 1e-6 + ulp(at), "assemble_tokens Pf=" + std::to_string(Pf));
            }
        }
        HostTensor x = randn({B, 197, D}, 41);
        for (auto [first, count] : {std::pair<int, int>{0, 1}, {1, 1}, {1, 196}, {0, 197}}) {
            HostTensor yr = HostTensor::zeros_f32({B, D});
            ref->pool_tokens(rounded(x, at).view, first, count, yr.view);
            DevTensor xg = to_device(*gpu, x, at), yg = to_device(*gpu, yr, at);
            gpu->pool_tokens(xg.t, first, count, yg.t);
            EXPECT_CLOSE(to_host(*gpu, yg.t), yr, 1e-6 + ulp(at), "pool_tokens");
        }
    }
}

TEST_P(CudaOps, ConvolutionsAndChannelOps) {
    struct Case {
        int64_t B, H, W, C, O, k, stride, pad, groups;
        Activation act;
        bool residual;
    };
    // Dense 3x3 and 1x1 (im2col / direct GEMM), depthwise 7x7 stride 2, grouped, channel multiplier.
    for (const Case c : {Case{2, 17, 13, 12, 20, 3, 1, 1, 1, Activation::gelu_erf, true},
                         Case{1, 9, 11, 24, 40, 1, 1, 0, 1, Activation::none, true},
                         Case{3, 15, 15, 16, 16, 7, 2, 3, 16, Activation::relu, false},
                         Case{1, 10, 12, 24, 48, 3, 1, 1, 4, Activation::sigmoid, false},
                         Case{2, 8, 8, 8, 32, 3, 2, 1, 8, Activation::gelu_erf, false},
                         Case{1, 32, 32, 3, 48, 3, 2, 1, 1, Activation::gelu_erf, false}}) {
        const int64_t Ho = (c.H + 2 * c.pad - c.k) / c.stride + 1, Wo = (c.W + 2 * c.pad - c.k) / c.stride + 1;
        HostTensor x = randn({c.B, c.H, c.W, c.C}, 51), w = randn({c.O, c.C / c.groups, c.k, c.k}, 52, 0.3f);
        HostTensor bias = randn({c.O}, 53), res = randn({c.B, Ho, Wo, c.O}, 54);
        Conv2dOpts o;
        o.stride = int(c.stride), o.pad = int(c.pad), o.groups = int(c.groups), o.act = c.act;
        Conv2dOpts og = o;
        Tensor bg = gpu_w(bias, WeightRole::param);
        const Tensor wg = gpu_w(w, WeightRole::conv);
        o.bias = &bias.view;
        og.bias = &bg;
        HostTensor yr = c.residual ? rounded(res, DType::f32) : HostTensor::zeros_f32({c.B, Ho, Wo, c.O});
        if (c.residual) o.residual = &yr.view;
        // Dense convolutions are GEMMs (input rounded to the compute dtype); the direct kernel reads x as is.
        ref->conv2d(rounded(x, c.groups == 1 ? cdt() : DType::f32).view, ref_w(w, WeightRole::conv), yr.view, o);
        DevTensor xg = to_device(*gpu, x, DType::f32), yg = to_device(*gpu, c.residual ? res : yr, DType::f32);
        if (c.residual) og.residual = &yg.t;
        gpu->conv2d(xg.t, wg, yg.t, og);
        // Exact erf-GELU on both paths (direct kernel; GEMM + erf pass).
        const double k = double(c.k * c.k * c.C / c.groups);
        EXPECT_CLOSE(to_host(*gpu, yg.t), yr, gemm_tol() * std::max(1.0, std::sqrt(k / 256)),
                     "conv2d k=" + std::to_string(c.k) + " C=" + std::to_string(c.C) + " O=" + std::to_string(c.O) +
                         " groups=" + std::to_string(c.groups));
    }
    HostTensor img = randn({2, 5, 7, 9}, 61), yr = HostTensor::zeros_f32({2, 7, 9, 5});
    ref->to_channels_last(img.view, yr.view);
    DevTensor ig = to_device(*gpu, img, DType::f32), yg = to_device(*gpu, yr, DType::f32);
    gpu->to_channels_last(ig.t, yg.t);
    EXPECT_CLOSE(to_host(*gpu, yg.t), yr, 0, "to_channels_last");

    HostTensor x = randn({3, 4, 5, 6}, 62), s = randn({3, 6}, 63), sr = HostTensor::zeros_f32({3, 4, 5, 6});
    for (Activation act : {Activation::none, Activation::sigmoid, Activation::gelu_erf}) {
        ref->scale_channels(x.view, s.view, act, sr.view);
        DevTensor xg = to_device(*gpu, x, DType::f32), sg = to_device(*gpu, s, DType::f32);
        gpu->scale_channels(xg.t, sg.t, act, xg.t);  // in place
        EXPECT_CLOSE(to_host(*gpu, xg.t), sr, 1e-6, "scale_channels");
    }
}

// The launch queue: first run eager, second captured as a CUDA graph, later runs replayed. Each run
// gets new input data, so a replay that read stale pointers or skipped work would show.
TEST_P(CudaOps, GraphReplayComputesFreshResults) {
    const int64_t T = 197, D = 192, B = 2, heads = 3;
    HostTensor w = randn({3 * D, D}, 71, 1.f / std::sqrt(float(D))), g = randn({D}, 72), b = randn({D}, 73);
    Tensor wg = gpu_w(w, WeightRole::linear), gg = gpu_w(g, WeightRole::param), bg = gpu_w(b, WeightRole::param);
    Tensor wr = ref_w(w, WeightRole::linear);
    DevTensor x = to_device(*gpu, HostTensor::zeros_f32({B, T, D}), DType::f32);
    DevTensor h = to_device(*gpu, HostTensor::zeros_f32({B, T, D}), DType::f32);
    DevTensor qkv = to_device(*gpu, HostTensor::zeros_f32({B, T, 3 * D}), DType::f32);
    DevTensor out = to_device(*gpu, HostTensor::zeros_f32({B, T, D}), DType::f32);
    for (int run = 0; run < 4; ++run) {
        HostTensor xin = randn({B, T, D}, 100 + run);
        gpu->upload(x.t.data, xin.f32(), x.t.nbytes());
        gpu->layernorm(x.t, gg, bg, 1e-6f, h.t);
        Tensor h2 = h.t, q2 = qkv.t;
        h2.shape = {B * T, D};
        q2.shape = {B * T, 3 * D};
        gpu->linear(h2, wg, q2, {});
        gpu->attention(qkv.t, int(heads), 0.125f, out.t);
        gpu->synchronize();
        HostTensor got = to_host(*gpu, out.t);

        HostTensor hr = HostTensor::zeros_f32({B * T, D}), qr = HostTensor::zeros_f32({B, T, 3 * D});
        HostTensor yr = HostTensor::zeros_f32({B, T, D});
        ref->layernorm(xin.view, g.view, b.view, 1e-6f, hr.view);
        HostTensor q2r = qr;
        q2r.view.shape = {B * T, 3 * D};
        ref->linear(rounded(hr, cdt()).view, wr, q2r.view, {});
        ref->attention(rounded(qr, cdt()).view, int(heads), 0.125f, yr.view);
        EXPECT_CLOSE(got, yr, half() ? 2e-2 : GetParam().tf32 ? 2e-2 : 1e-4, "graph run " + std::to_string(run));
    }
}

TEST_P(CudaOps, WeightsFromAnotherBackendAreRejected) {
    HostTensor w = randn({4, 8}, 1);
    Tensor wr = ref->prepare_weight(w, WeightRole::linear);
    DevTensor x = to_device(*gpu, randn({2, 8}, 2), DType::f32), y = to_device(*gpu, randn({2, 4}, 3), DType::f32);
    EXPECT_THROW(gpu->linear(x.t, wr, y.t, {}), Error);
    Tensor wg = gpu_w(w, WeightRole::linear);
    DevTensor bad = to_device(*gpu, randn({2, 5}, 4), DType::f32);
    EXPECT_THROW(gpu->linear(bad.t, wg, y.t, {}), Error);
    EXPECT_NE(gpu->details().find("cuda ("), std::string::npos);
    EXPECT_NE(gpu->details().find("GELU exact erf"), std::string::npos) << gpu->details();
}

// The backend, not only the caller, keeps a prepared weight alive until the queued launch that
// reads it has run (LaunchQueue::hold): here the weight and bias are temporaries, destroyed before
// the flush, and new weights are allocated and uploaded before the queued GEMM runs. (The backend
// also flushes before every host upload, so this cannot prove the hold alone; it proves the
// result is right when callers pass temporaries.)
TEST_P(CudaOps, TemporaryWeightStaysAliveUntilItsLaunchRuns) {
    HostTensor x = randn({19, 64}, 1), w = randn({96, 64}, 2, 0.125f), bias = randn({96}, 3);
    DevTensor xg = to_device(*gpu, x, DType::f32), yg = to_device(*gpu, HostTensor::zeros_f32({19, 96}), DType::f32);
    {
        LinearOpts o;
        const Tensor b = gpu_w(bias, WeightRole::param);
        o.bias = &b;
        o.act = Activation::gelu_erf;
        gpu->linear(xg.t, gpu_w(w, WeightRole::linear), yg.t, o);
    }
    std::vector<Tensor> clobber;
    for (int i = 0; i < 4; ++i) clobber.push_back(gpu_w(randn({96, 64}, 50 + i, 100.f), WeightRole::linear));
    HostTensor yr = HostTensor::zeros_f32({19, 96});
    LinearOpts orf;
    Tensor br = ref->prepare_weight(bias, WeightRole::param);
    orf.bias = &br;
    orf.act = Activation::gelu_erf;
    ref->linear(rounded(x, cdt()).view, ref_w(w, WeightRole::linear), yr.view, orf);
    EXPECT_CLOSE(to_host(*gpu, yg.t), yr, gemm_tol(), "linear with temporary weights");
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaOps,
                         ::testing::Values(Precision{"f32", DType::f32, false}, Precision{"tf32", DType::f32, true},
                                           Precision{"f16", DType::f16, false}, Precision{"bf16", DType::bf16, false}),
                         precision_name);

// These run everywhere: without a GPU (or without the backend) creation is a clear error.
TEST(CudaBackend, UnknownPrecisionIsAClearError) {
    EXPECT_THROW(parse_precision("int3"), Error);
    EXPECT_THROW(make_backend("cpu", BackendOptions{0, parse_precision("tf32")}), Error);
}

TEST(CudaBackend, MissingDeviceIsAClearErrorNotAnAbort) {
    const std::string why = test::cuda_unavailable_reason();
    if (why.empty()) GTEST_SKIP() << "a CUDA GPU is present; nothing to check";
    // The kind, not the message text, says "unavailable": no plugin, no driver, no GPU.
    try {
        make_backend("cuda", BackendOptions{0, parse_precision("bf16")});
        FAIL() << "expected vitrt::DeviceUnavailable";
    } catch (const DeviceUnavailable& e) {
        EXPECT_GT(std::string(e.what()).size(), 20u) << "a reason, not an empty message";
        std::cout << "[ no cuda  ] " << e.what() << "\n";
    }
}

}  // namespace
}  // namespace vitrt
