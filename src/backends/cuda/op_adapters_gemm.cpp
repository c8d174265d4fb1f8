// The cuda backend's GEMM ops: linear and dense conv2d through cuBLASLt, with the epilogues it can
// fuse (bias, ReLU, a residual as C) and a pass after the GEMM for the rest.
//
// GELU is exact (erf), as in PyTorch / timm: cuBLASLt's GELU epilogue is the tanh approximation,
// so it is never used; a GELU linear is the GEMM with the bias epilogue followed by an erf-GELU
// pass over its output (in place). cuBLASLt applies an epilogue activation after adding C, so an
// activation together with a residual runs unfused: the plain GEMM into f32 scratch, then one pass
// adding bias, activation and residual. The same unfused form is the fallback when cuBLASLt offers
// no algorithm for a fused combination (counted in details()).
#include "backends/cuda/cuda_backend.hpp"

namespace vitrt::cuda {

void CudaOps::linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) {
    prepared_as<CudaWeight>(w, this, WeightRole::linear, "cuda linear");
    VITRT_CUDA_REQUIRE(w.rank() == 2, "cuda linear: the weight must be 2-D");
    const int64_t N = w.dim(0), K = w.dim(1);
    VITRT_CUDA_REQUIRE(x.rank() >= 1 && x.dim(-1) == K && x.numel() % K == 0,
                       "cuda linear: x " + shape_str(x.shape) + " does not match the weight " + shape_str(w.shape));
    const int64_t M = x.numel() / K;
    VITRT_CUDA_REQUIRE(y.numel() == M * N && y.dim(-1) == N, "cuda linear: y " + shape_str(y.shape) + " should hold [" +
                                                                 std::to_string(M) + ", " + std::to_string(N) + "]");
    if (o.residual)
        VITRT_CUDA_REQUIRE(o.residual->numel() == M * N && o.residual->dtype == y.dtype,
                           "cuda linear: the residual must have y's shape and dtype");
    if (o.bias) VITRT_CUDA_REQUIRE(o.bias->numel() == N, "cuda linear: bias must have N elements");
    hold(w);
    const void* a = gemm_input(x, M * K);
    gemm_fused(a, w.data, M, N, K, y.data, y.dtype, o.bias, o.act, o.residual ? o.residual->data : nullptr);
}

// Dense convolutions (groups = 1): NHWC im2col (skipped for 1x1 stride-1 kernels, where x is
// already the GEMM input) + the cuBLASLt GEMM with the fused epilogue. Depthwise, grouped and
// channel-multiplier convolutions: the direct kernel (conv_direct.cu).
void CudaOps::conv2d(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dOpts& o) {
    const CudaWeight& cw = prepared_as<CudaWeight>(w, this, WeightRole::conv, "cuda conv2d");
    VITRT_CUDA_REQUIRE(x.rank() == 4 && y.rank() == 4, "cuda conv2d: x and y must be NHWC 4-D tensors");
    ConvParams p;
    p.x = x.data, p.x_type = x.dtype, p.w = w.data, p.w_type = cdt_, p.y = y.data, p.y_type = y.dtype;
    p.B = x.dim(0), p.H = x.dim(1), p.W = x.dim(2), p.C = x.dim(3), p.O = cw.O, p.KH = cw.KH, p.KW = cw.KW;
    p.Ho = y.dim(1), p.Wo = y.dim(2), p.stride = o.stride, p.pad = o.pad, p.groups = o.groups, p.act = o.act;
    VITRT_CUDA_REQUIRE(o.groups >= 1 && o.stride >= 1 && o.pad >= 0 && p.C == cw.Ig * o.groups && p.O % o.groups == 0 &&
                           y.dim(0) == p.B && y.dim(3) == p.O && p.Ho == (p.H + 2 * p.pad - p.KH) / p.stride + 1 &&
                           p.Wo == (p.W + 2 * p.pad - p.KW) / p.stride + 1,
                       "cuda conv2d: shape mismatch (x " + shape_str(x.shape) + ", w " + shape_str(w.shape) + ", y " +
                           shape_str(y.shape) + ", stride " + std::to_string(o.stride) + ", pad " +
                           std::to_string(o.pad) + ", groups " + std::to_string(o.groups) + ")");
    if (o.bias)
        VITRT_CUDA_REQUIRE(o.bias->numel() == p.O && o.bias->dtype == DType::f32, "cuda conv2d: bias must be f32 [O]");
    if (o.residual)
        VITRT_CUDA_REQUIRE(o.residual->numel() == y.numel() && o.residual->dtype == y.dtype && o.residual->data != x.data,
                           "cuda conv2d: the residual must have y's shape and dtype and must not alias x");
    VITRT_CUDA_REQUIRE(y.data != x.data, "cuda conv2d: y must not alias x");
    hold(w);
    if (o.groups == 1 && (x.dtype == DType::f32 || x.dtype == cdt_)) {
        const int64_t M = p.B * p.Ho * p.Wo, K = p.KH * p.KW * p.C;
        const void* a = nullptr;
        if (p.KH == 1 && p.KW == 1 && p.stride == 1 && p.pad == 0) {
            a = gemm_input(x, M * K);
        } else {
            void* cols = scratch(kSlotCols, size_t(M * K) * dtype_size(cdt_));
            const DType ct = cdt_;
            enqueue({kIm2col, u(p.x), u(p.x_type), u(cols), u(ct), u(p.B), u(p.H), u(p.W), u(p.C), u(p.KH), u(p.KW),
                     u(p.Ho), u(p.Wo), u(p.stride), u(p.pad)},
                    [p, cols, ct](cudaStream_t s) { conv_im2col_launch(p, cols, ct, s); });
            a = cols;
        }
        gemm_fused(a, w.data, M, p.O, K, y.data, y.dtype, o.bias, o.act, o.residual ? o.residual->data : nullptr);
        return;
    }
    if (o.bias) hold(*o.bias);
    p.bias = o.bias ? o.bias->f32() : nullptr;
    p.residual = o.residual ? o.residual->data : nullptr;
    VITRT_CUDA_REQUIRE(conv_direct_can_run(p), "cuda conv2d: the direct kernel cannot run this geometry");
    enqueue({kConvDirect, u(p.x), u(p.x_type), u(p.w), u(p.w_type), u(p.bias), u(p.residual), u(p.y), u(p.y_type),
             u(p.act), u(p.B), u(p.H), u(p.W), u(p.C), u(p.O), u(p.KH), u(p.KW), u(p.Ho), u(p.Wo), u(p.stride),
             u(p.pad), u(p.groups)},
            [p](cudaStream_t s) { conv_direct_launch(p, s); });
}

// x as the GEMM's A operand: itself when already in the compute dtype, else converted into scratch.
const void* CudaOps::gemm_input(const Tensor& x, int64_t n) {
    if (x.dtype == cdt_) return x.data;
    void* a = scratch(kSlotA, size_t(n) * dtype_size(cdt_));
    convert(x.data, x.dtype, a, cdt_, n);
    return a;
}

void CudaOps::convert(const void* x, DType xt, void* y, DType yt, int64_t n) {
    ConvertParams p;
    p.x = x, p.x_type = xt, p.y = y, p.y_type = yt, p.n = n;
    enqueue({kConvert, u(x), u(xt), u(y), u(yt), u(n)}, [p](cudaStream_t s) { convert_launch(p, s); });
}

// The bias in dtype dt (cuBLASLt's bias epilogue wants the output's dtype; the epilogue pass f32).
const void* CudaOps::bias_in(const Tensor& bias, DType dt) {
    hold(bias);
    if (bias.dtype == dt) return bias.data;
    const CudaWeight* p = cuda_weight(bias, this);
    if (p && p->half && p->half_type == dt) return p->half.get();
    void* b = scratch(kSlotBias, size_t(bias.numel()) * dtype_size(dt));
    convert(bias.data, bias.dtype, b, dt, bias.numel());
    return b;
}

// y[M, N] = residual + act(a[M, K] w[N, K]^T + bias), a and w in the compute dtype.
void CudaOps::gemm_fused(const void* a, const void* w, int64_t M, int64_t N, int64_t K, void* y, DType yt,
                         const Tensor* bias, Activation act, const void* residual) {
    VITRT_CUDA_REQUIRE(cdt_ != DType::f32 || yt == DType::f32, "cuda linear: f32 GEMMs write f32 outputs only");
    GemmParams plain;
    plain.a = a, plain.w = w, plain.ab_type = cdt_, plain.M = M, plain.N = N, plain.K = K, plain.tf32 = tf32_;
    if (residual == nullptr || act == Activation::none) {
        GemmParams g = plain;
        g.epilogue = act == Activation::relu ? GemmEpilogue::relu : GemmEpilogue::none;
        g.d = y, g.d_type = yt, g.c = residual, g.bias = bias ? bias_in(*bias, yt) : nullptr;
        if (const CublasLtGemm::Plan* plan = gemm_->plan(g)) {
            launch_gemm(plan, g);
            if (act != Activation::none && act != Activation::relu)  // exact GELU, sigmoid: in place
                epilogue(y, yt, nullptr, nullptr, y, yt, act, M, N);
            return;
        }
        ++unfused_gemms_;  // no fused algorithm: the unfused form below computes the same function
    }
    void* t = scratch(kSlotT, size_t(M * N) * 4);
    GemmParams g = plain;
    g.d = t, g.d_type = DType::f32;
    const CublasLtGemm::Plan* plan = gemm_->plan(g);
    VITRT_CUDA_REQUIRE(plan != nullptr, "cuBLASLt offers no algorithm for M=" + std::to_string(M) + " N=" +
                                            std::to_string(N) + " K=" + std::to_string(K) + " (" + dtype_name(cdt_) +
                                            " operands, f32 output)");
    launch_gemm(plan, g);
    const float* b32 = bias ? static_cast<const float*>(bias_in(*bias, DType::f32)) : nullptr;
    epilogue(t, DType::f32, b32, residual, y, yt, act, M, N);
}

void CudaOps::launch_gemm(const CublasLtGemm::Plan* plan, const GemmParams& g) {
    CublasLtGemm* gemm = gemm_.get();
    enqueue({kGemm, u(plan), u(g.a), u(g.w), u(g.d), u(g.c), u(g.bias), u(g.M), u(g.N), u(g.K)},
            [gemm, plan, g](cudaStream_t s) { gemm->launch(plan, g, s); });
}

void CudaOps::epilogue(const void* t, DType tt, const float* bias, const void* residual, void* y, DType yt,
                       Activation act, int64_t M, int64_t N) {
    EpilogueParams p;
    p.t = t, p.t_type = tt, p.bias = bias, p.residual = residual, p.y = y, p.y_type = yt, p.act = act, p.M = M, p.N = N;
    enqueue({kEpilogue, u(t), u(tt), u(bias), u(residual), u(y), u(yt), u(act), u(M), u(N)},
            [p](cudaStream_t s) { gemm_epilogue_launch(p, s); });
}

}  // namespace vitrt::cuda
