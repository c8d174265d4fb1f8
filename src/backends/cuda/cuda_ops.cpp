// The cuda backend's Ops: argument checks, weight preparation, the launch queue with CUDA-graph
// capture, transfers, and a table from op to kernel. Design notes in cuda_ops.hpp.
#include "backends/cuda/cuda_ops.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/gemm_cublaslt.hpp"
#include "backends/cuda/kernels.hpp"

namespace vitrt {
namespace {

using namespace cuda;

// --- device memory ---------------------------------------------------------------------------------

std::shared_ptr<void> device_alloc(size_t bytes, const char* what) {
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, std::max<size_t>(bytes, 1));
    if (e != cudaSuccess) {
        cudaGetLastError();
        throw Error(std::string("cuda: cannot allocate ") + std::to_string(bytes) + " bytes of device memory for " + what +
                    ": " + cudaGetErrorString(e));
    }
    return std::shared_ptr<void>(p, [](void* q) { cudaFree(q); });
}

// What prepare_weight() attaches to Tensor::prepared.
struct Prepared final : PreparedWeight {
    enum class Kind { linear, param, conv } kind;
    std::shared_ptr<void> data;       // linear: [N, K]; param: f32; conv: OHWI, all in `dtype`
    std::shared_ptr<void> half;       // param only: copy in the compute dtype (bias epilogues), or null
    DType half_type = DType::f32;
    int64_t O = 0, Ig = 0, KH = 0, KW = 0;  // conv
    Prepared(const Ops* owner, Kind k, Precision p)
        : PreparedWeight(owner, k == Kind::linear ? WeightRole::linear : k == Kind::conv ? WeightRole::conv : WeightRole::param, p),
          kind(k) {}
};

const Prepared* prepared(const Tensor& t, Prepared::Kind k) {
    auto* p = dynamic_cast<const Prepared*>(t.prepared.get());
    return p && p->kind == k ? p : nullptr;
}

std::vector<char> host_in(const HostTensor& f32, DType dt) {
    const int64_t n = f32.view.numel();
    std::vector<char> out(size_t(n) * dtype_size(dt));
    if (dt == DType::f32) {
        std::memcpy(out.data(), f32.f32(), out.size());
    } else {
        auto* o = reinterpret_cast<uint16_t*>(out.data());
        for (int64_t i = 0; i < n; ++i) o[i] = dt == DType::bf16 ? f32_to_bf16(f32.f32()[i]) : f32_to_f16(f32.f32()[i]);
    }
    return out;
}

uint64_t u(const void* p) { return uint64_t(reinterpret_cast<uintptr_t>(p)); }
uint64_t u(float f) { return std::bit_cast<uint32_t>(f); }
uint64_t u(int64_t v) { return uint64_t(v); }
uint64_t u(DType t) { return uint64_t(t); }
uint64_t u(Activation a) { return uint64_t(a); }

enum Op : uint64_t { kGemm = 1, kConvert, kEpilogue, kLayerNorm, kAttention, kPatchify, kAssemble, kPool, kConvDirect,
                     kIm2col, kChannelsLast, kScaleChannels, kCopy };

class CudaOps final : public Ops {
public:
    CudaOps(DType compute, bool tf32)
        : cdt_(compute), tf32_(tf32),
          precision_(tf32 ? Precision::tf32 : compute == DType::f32 ? Precision::f32
                                          : compute == DType::bf16  ? Precision::bf16
                                                                    : Precision::f16) {
        int n = 0;
        cudaError_t e = cudaGetDeviceCount(&n);
        if (e != cudaSuccess) {
            cudaGetLastError();
            throw Error(std::string("no CUDA device: ") + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ")");
        }
        if (n == 0) throw Error("no CUDA device: the CUDA runtime found none");
        int dev = 0;
        if (const char* s = std::getenv("VITRT_CUDA_DEVICE"); s && *s) dev = std::atoi(s);
        check(dev >= 0 && dev < n, "VITRT_CUDA_DEVICE=" + std::to_string(dev) + " but there are " + std::to_string(n) +
                                       " CUDA device(s)");
        VITRT_CUDA_CHECK(cudaSetDevice(dev));
        VITRT_CUDA_CHECK(cudaGetDeviceProperties(&props_, dev));
        if (props_.major < 8)
            throw Error(std::string("cuda: ") + props_.name + " has compute capability " + std::to_string(props_.major) +
                        "." + std::to_string(props_.minor) + "; vitrt's CUDA kernels need sm_80 or newer (Ampere, Hopper)");
        VITRT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        for (int i = 0; i < 2; ++i) {
            VITRT_CUDA_CHECK(cudaMallocHost(&staging_[i], kChunk));
            VITRT_CUDA_CHECK(cudaEventCreateWithFlags(&staged_[i], cudaEventDisableTiming));
        }
        gemm_ = std::make_unique<CublasLtGemm>();
        if (const char* g = std::getenv("VITRT_CUDA_GRAPHS"); g && std::string(g) == "0") graphs_on_ = false;
    }

    ~CudaOps() override {
        try {
            synchronize();
        } catch (...) {
        }
        for (auto& [k, g] : graphs_) cudaGraphExecDestroy(g.exec);
        gemm_.reset();
        scratch_.clear();
        retired_.clear();
        for (int i = 0; i < 2; ++i) {
            if (staging_[i]) cudaFreeHost(staging_[i]);
            if (staged_[i]) cudaEventDestroy(staged_[i]);
        }
        if (stream_) cudaStreamDestroy(stream_);
    }

    std::string name() const override { return "cuda"; }
    std::string details() const override {
        int rt = 0, drv = 0;
        cudaRuntimeGetVersion(&rt);
        cudaDriverGetVersion(&drv);
        auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
        const std::string prec = tf32_ ? "tf32" : dtype_name(cdt_);
        return std::string("cuda (") + props_.name + ", sm_" + std::to_string(props_.major * 10 + props_.minor) + ", " +
               std::to_string(props_.multiProcessorCount) + " SMs, runtime " + ver(rt) + ", driver " + ver(drv) + ", " +
               gemm_->version() + ", " + prec + " GEMMs, attention " +
               (cdt_ == DType::f32 ? "f32 CUDA cores" : std::string(dtype_name(cdt_)) + " tensor cores (head dims 32/64/80/96/128; others f32 CUDA cores)") +
               ", CUDA graphs " + (graphs_on_ ? "on" : "off") +
               (unfused_gemms_ ? ", " + std::to_string(unfused_gemms_) + " GEMM calls without a fused cuBLASLt epilogue" : "") +
               ")";
    }

    // --- load time -------------------------------------------------------------------------------
    // Linear and conv weights are stored in the backend's compute precision (per-weight float
    // precisions other than it, and integer precisions, are not implemented here yet: refused).
    bool supports(Precision p, WeightRole role) const override {
        if (role == WeightRole::param) return p == Precision::f32;
        return p == precision_ || (p == Precision::f32 && precision_ == Precision::tf32);
    }

    Tensor prepare_weight(const HostTensor& w, const WeightSpec& spec) override {
        const WeightRole role = spec.role;
        if (!supports(spec.precision, role))
            throw Error(std::string("cuda: precision ") + precision_name(spec.precision) + " is not available for " +
                        role_name(role) + " weights on a backend computing in " + precision_name(precision_) +
                        " (weight '" + spec.name + "')");
        HostTensor f = to_f32(w);
        Tensor t;
        t.shape = f.view.shape;
        if (role == WeightRole::linear) {
            check(t.rank() == 2, "cuda: linear weight must be 2-D, got " + shape_str(t.shape));
            auto p = std::make_shared<Prepared>(this, Prepared::Kind::linear, spec.precision);
            p->data = upload_new(host_in(f, cdt_), "a linear weight");
            t.dtype = cdt_;
            t.data = p->data.get();
            t.prepared = p;
            return t;
        }
        if (role == WeightRole::conv) {
            check(t.rank() == 4, "cuda: conv weight must be [O, Cin/groups, kh, kw], got " + shape_str(t.shape));
            auto p = std::make_shared<Prepared>(this, Prepared::Kind::conv, spec.precision);
            p->O = t.dim(0), p->Ig = t.dim(1), p->KH = t.dim(2), p->KW = t.dim(3);
            HostTensor ohwi = HostTensor::zeros_f32({p->O, p->KH, p->KW, p->Ig});
            for (int64_t o = 0; o < p->O; ++o)
                for (int64_t i = 0; i < p->Ig; ++i)
                    for (int64_t y = 0; y < p->KH; ++y)
                        for (int64_t x = 0; x < p->KW; ++x)
                            ohwi.mutable_f32()[((o * p->KH + y) * p->KW + x) * p->Ig + i] =
                                f.f32()[((o * p->Ig + i) * p->KH + y) * p->KW + x];
            p->data = upload_new(host_in(ohwi, cdt_), "a conv weight");
            t.dtype = cdt_;
            t.data = p->data.get();
            t.prepared = p;
            return t;
        }
        auto p = std::make_shared<Prepared>(this, Prepared::Kind::param, spec.precision);
        p->data = upload_new(host_in(f, DType::f32), "a parameter");
        if (cdt_ != DType::f32) {
            p->half = upload_new(host_in(f, cdt_), "a parameter");
            p->half_type = cdt_;
        }
        t.dtype = DType::f32;
        t.data = p->data.get();
        t.prepared = p;
        return t;
    }

    std::shared_ptr<void> allocate(size_t bytes) override { return device_alloc(bytes, "activations"); }

    void copy(const Tensor& src, const Tensor& dst) override {
        check(src.nbytes() == dst.nbytes(), "cuda copy: byte sizes differ");
        if (src.nbytes()) copy_d2d(dst.data, src.data, src.nbytes());
    }

    void upload(void* dst, const void* src, size_t n) override {
        if (n == 0) return;
        if (is_device(src)) return copy_d2d(dst, src, n);
        flush();
        for (size_t off = 0, i = 0; off < n; off += kChunk, ++i) {
            const int s = int(i % 2);
            const size_t len = std::min(kChunk, n - off);
            VITRT_CUDA_CHECK(cudaEventSynchronize(staged_[s]));  // the slot's previous DMA is done
            std::memcpy(staging_[s], static_cast<const char*>(src) + off, len);
            VITRT_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst) + off, staging_[s], len, cudaMemcpyHostToDevice, stream_));
            VITRT_CUDA_CHECK(cudaEventRecord(staged_[s], stream_));
        }
    }

    void download(void* dst, const void* src, size_t n) override {
        if (n == 0) return;
        if (is_device(dst)) return copy_d2d(dst, src, n);
        flush();
        const size_t chunks = (n + kChunk - 1) / kChunk;
        auto issue = [&](size_t i) {
            const size_t off = i * kChunk, len = std::min(kChunk, n - off);
            VITRT_CUDA_CHECK(cudaMemcpyAsync(staging_[i % 2], static_cast<const char*>(src) + off, len,
                                             cudaMemcpyDeviceToHost, stream_));
            VITRT_CUDA_CHECK(cudaEventRecord(staged_[i % 2], stream_));
        };
        issue(0);
        if (chunks > 1) issue(1);
        for (size_t i = 0; i < chunks; ++i) {
            const size_t off = i * kChunk, len = std::min(kChunk, n - off);
            VITRT_CUDA_CHECK(cudaEventSynchronize(staged_[i % 2]));
            std::memcpy(static_cast<char*>(dst) + off, staging_[i % 2], len);
            if (i + 2 < chunks) issue(i + 2);
        }
    }

    void synchronize() override {
        flush();
        VITRT_CUDA_CHECK(cudaStreamSynchronize(stream_));
        retired_.clear();
    }

    // --- activations -----------------------------------------------------------------------------
    void linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) override {
        check(prepared(w, Prepared::Kind::linear) && w.rank() == 2,
              "cuda linear: the weight was not prepared by this backend as a linear weight");
        const int64_t N = w.dim(0), K = w.dim(1);
        check(x.rank() >= 1 && x.dim(-1) == K && x.numel() % K == 0, "cuda linear: x " + shape_str(x.shape) +
                                                                         " does not match the weight " + shape_str(w.shape));
        const int64_t M = x.numel() / K;
        check(y.numel() == M * N && y.dim(-1) == N, "cuda linear: y " + shape_str(y.shape) + " should hold [" +
                                                        std::to_string(M) + ", " + std::to_string(N) + "]");
        if (o.residual)
            check(o.residual->numel() == M * N && o.residual->dtype == y.dtype,
                  "cuda linear: the residual must have y's shape and dtype");
        if (o.bias) check(o.bias->numel() == N, "cuda linear: bias must have N elements");
        const void* a = gemm_input(x, M * K);
        gemm_fused(a, w.data, M, N, K, y.data, y.dtype, o.bias, o.act, nullptr, o.residual ? o.residual->data : nullptr);
    }

    void layernorm(const Tensor& x, const Tensor& g, const Tensor& b, float eps, const Tensor& y) override {
        const int64_t D = x.dim(-1);
        check(g.numel() == D && b.numel() == D && g.dtype == DType::f32 && b.dtype == DType::f32 && y.numel() == x.numel(),
              "cuda layernorm: shape or dtype mismatch (x " + shape_str(x.shape) + ", y " + shape_str(y.shape) + ")");
        check(y.data != x.data || y.dtype == x.dtype, "cuda layernorm: in place needs one dtype");
        LayerNormParams p;
        p.x = x.data, p.x_type = x.dtype, p.gamma = g.f32(), p.beta = b.f32(), p.y = y.data, p.y_type = y.dtype;
        p.eps = eps, p.rows = x.numel() / D, p.D = D;
        check(layernorm_can_run(p), "cuda layernorm: rows of " + std::to_string(D) + " elements are not supported (max 16384)");
        enqueue({kLayerNorm, u(p.x), u(p.x_type), u(p.gamma), u(p.beta), u(p.y), u(p.y_type), u(eps), u(p.rows), u(D)},
                [p](cudaStream_t s) { layernorm_launch(p, s); });
    }

    void attention(const Tensor& qkv, int heads, float scale, const Tensor& out) override {
        check(qkv.rank() == 3 && heads > 0 && qkv.dim(2) % (3 * int64_t(heads)) == 0,
              "cuda attention: qkv must be [B, T, 3 * heads * head_dim], got " + shape_str(qkv.shape));
        AttentionParams p;
        p.B = qkv.dim(0), p.T = qkv.dim(1), p.heads = heads, p.head_dim = qkv.dim(2) / 3 / heads;
        check(out.numel() == p.B * p.T * heads * p.head_dim && out.dtype == qkv.dtype,
              "cuda attention: out must be [B, T, heads * head_dim] in qkv's dtype");
        p.qkv = qkv.data, p.out = out.data, p.io_type = qkv.dtype, p.scale = scale;
        p.compute = cdt_ != DType::f32 && attention_tc_head_dim_supported(p.head_dim) ? cdt_ : DType::f32;
        if (p.compute != DType::f32 && p.io_type != DType::f32 && p.io_type != p.compute) p.compute = DType::f32;
        check(attention_can_run(p), "cuda attention: unsupported (head_dim " + std::to_string(p.head_dim) +
                                        " > 256, or more than 65535 images or heads)");
        enqueue({kAttention, u(p.qkv), u(p.out), u(p.io_type), u(p.compute), u(p.B), u(p.T), u(int64_t(heads)),
                 u(p.head_dim), u(scale)},
                [p](cudaStream_t s) { attention_launch(p, s); });
    }

    void patchify(const Tensor& img, int patch, const Tensor& out) override {
        check(img.rank() == 4 && patch > 0 && img.dim(2) % patch == 0 && img.dim(3) % patch == 0,
              "cuda patchify: image " + shape_str(img.shape) + " is not a multiple of the patch " + std::to_string(patch));
        PatchifyParams p;
        p.img = img.data, p.img_type = img.dtype, p.cols = out.data, p.cols_type = out.dtype;
        p.B = img.dim(0), p.C = img.dim(1), p.H = img.dim(2), p.W = img.dim(3), p.P = patch;
        check(out.numel() == img.numel(), "cuda patchify: out has the wrong size");
        enqueue({kPatchify, u(p.img), u(p.img_type), u(p.cols), u(p.cols_type), u(p.B), u(p.C), u(p.H), u(p.W), u(p.P)},
                [p](cudaStream_t s) { patchify_launch(p, s); });
    }

    void assemble_tokens(const Tensor& patches, const Tensor* prefix, const Tensor& pos, bool skip,
                         const Tensor& out) override {
        AssembleParams p;
        p.B = patches.dim(0), p.N = patches.dim(1), p.D = patches.dim(2);
        p.Pf = prefix ? prefix->numel() / p.D : 0;
        check((!prefix || prefix->dtype == DType::f32) && pos.dtype == DType::f32 &&
                  pos.numel() == ((skip ? 0 : p.Pf) + p.N) * p.D && out.numel() == p.B * (p.Pf + p.N) * p.D,
              "cuda assemble_tokens: shape or dtype mismatch (prefix and pos are f32 parameters)");
        p.patches = patches.data, p.patches_type = patches.dtype, p.prefix = prefix ? prefix->f32() : nullptr;
        p.pos = pos.f32(), p.pos_skips_prefix = skip, p.out = out.data, p.out_type = out.dtype;
        enqueue({kAssemble, u(p.patches), u(p.patches_type), u(p.prefix), u(p.pos), u(int64_t(skip)), u(p.out),
                 u(p.out_type), u(p.B), u(p.N), u(p.Pf), u(p.D)},
                [p](cudaStream_t s) { assemble_tokens_launch(p, s); });
    }

    void pool_tokens(const Tensor& x, int first, int count, const Tensor& out) override {
        PoolParams p;
        p.B = x.dim(0), p.T = x.dim(1), p.D = x.dim(2), p.first = first, p.count = count;
        check(first >= 0 && count >= 1 && first + count <= p.T && out.numel() == p.B * p.D,
              "cuda pool_tokens: token range or output shape mismatch");
        p.x = x.data, p.x_type = x.dtype, p.out = out.data, p.out_type = out.dtype;
        enqueue({kPool, u(p.x), u(p.x_type), u(p.out), u(p.out_type), u(p.B), u(p.T), u(p.D), u(p.first), u(p.count)},
                [p](cudaStream_t s) { pool_tokens_launch(p, s); });
    }

    // Dense convolutions (groups = 1): NHWC im2col (skipped for 1x1 stride-1 kernels, where x is
    // already the GEMM input) + the cuBLASLt GEMM with the fused epilogue. Depthwise, grouped and
    // channel-multiplier convolutions: the direct kernel.
    void conv2d(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dOpts& o) override {
        const Prepared* cw = prepared(w, Prepared::Kind::conv);
        check(cw != nullptr, "cuda conv2d: the weight was not prepared by this backend as a conv weight");
        check(x.rank() == 4 && y.rank() == 4, "cuda conv2d: x and y must be NHWC 4-D tensors");
        ConvParams p;
        p.x = x.data, p.x_type = x.dtype, p.w = w.data, p.w_type = cdt_, p.y = y.data, p.y_type = y.dtype;
        p.B = x.dim(0), p.H = x.dim(1), p.W = x.dim(2), p.C = x.dim(3), p.O = cw->O, p.KH = cw->KH, p.KW = cw->KW;
        p.Ho = y.dim(1), p.Wo = y.dim(2), p.stride = o.stride, p.pad = o.pad, p.groups = o.groups, p.act = o.act;
        check(o.groups >= 1 && o.stride >= 1 && o.pad >= 0 && p.C == cw->Ig * o.groups && p.O % o.groups == 0 &&
                  y.dim(0) == p.B && y.dim(3) == p.O && p.Ho == (p.H + 2 * p.pad - p.KH) / p.stride + 1 &&
                  p.Wo == (p.W + 2 * p.pad - p.KW) / p.stride + 1,
              "cuda conv2d: shape mismatch (x " + shape_str(x.shape) + ", w " + shape_str(w.shape) + ", y " +
                  shape_str(y.shape) + ", stride " + std::to_string(o.stride) + ", pad " + std::to_string(o.pad) +
                  ", groups " + std::to_string(o.groups) + ")");
        if (o.bias) check(o.bias->numel() == p.O && o.bias->dtype == DType::f32, "cuda conv2d: bias must be f32 [O]");
        if (o.residual)
            check(o.residual->numel() == y.numel() && o.residual->dtype == y.dtype && o.residual->data != x.data,
                  "cuda conv2d: the residual must have y's shape and dtype and must not alias x");
        check(y.data != x.data, "cuda conv2d: y must not alias x");
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
            gemm_fused(a, w.data, M, p.O, K, y.data, y.dtype, o.bias, o.act, nullptr, o.residual ? o.residual->data : nullptr);
            return;
        }
        p.bias = o.bias ? o.bias->f32() : nullptr;
        p.residual = o.residual ? o.residual->data : nullptr;
        check(conv_direct_can_run(p), "cuda conv2d: the direct kernel cannot run this geometry");
        enqueue({kConvDirect, u(p.x), u(p.x_type), u(p.w), u(p.w_type), u(p.bias), u(p.residual), u(p.y), u(p.y_type),
                 u(p.act), u(p.B), u(p.H), u(p.W), u(p.C), u(p.O), u(p.KH), u(p.KW), u(p.Ho), u(p.Wo), u(p.stride),
                 u(p.pad), u(p.groups)},
                [p](cudaStream_t s) { conv_direct_launch(p, s); });
    }

    void to_channels_last(const Tensor& x, const Tensor& y) override {
        check(x.rank() == 4 && y.shape == Shape{x.dim(0), x.dim(2), x.dim(3), x.dim(1)} && x.data != y.data,
              "cuda to_channels_last: shape mismatch or in place");
        const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
        const void* xp = x.data;
        void* yp = y.data;
        const DType xt = x.dtype, yt = y.dtype;
        enqueue({kChannelsLast, u(xp), u(xt), u(yp), u(yt), u(B), u(C), u(H), u(W)},
                [=](cudaStream_t s) { to_channels_last_launch(xp, xt, yp, yt, B, C, H, W, s); });
    }

    void scale_channels(const Tensor& x, const Tensor& sc, Activation act, const Tensor& y) override {
        const int64_t B = x.dim(0), C = x.dim(-1), T = x.numel() / (B * C);
        check(sc.numel() == B * C && y.numel() == x.numel() && (y.data != x.data || y.dtype == x.dtype),
              "cuda scale_channels: shape mismatch");
        const void* xp = x.data;
        const void* sp = sc.data;
        void* yp = y.data;
        const DType xt = x.dtype, st = sc.dtype, yt = y.dtype;
        enqueue({kScaleChannels, u(xp), u(xt), u(sp), u(st), u(yp), u(yt), u(act), u(B), u(T), u(C)},
                [=](cudaStream_t s) { scale_channels_launch(xp, xt, sp, st, yp, yt, act, B, T, C, s); });
    }

private:
    static constexpr size_t kChunk = 8u << 20;
    static constexpr size_t kMaxGraphs = 32;
    enum Slot { kSlotA, kSlotT, kSlotBias, kSlotCols, kSlots };

    struct Graph {
        cudaGraphExec_t exec = nullptr;
        uint64_t last_use = 0;
    };

    DType cdt_;
    bool tf32_;
    Precision precision_;
    bool graphs_on_ = true;
    cudaDeviceProp props_{};
    cudaStream_t stream_ = nullptr;
    void* staging_[2] = {nullptr, nullptr};
    cudaEvent_t staged_[2] = {nullptr, nullptr};
    std::unique_ptr<CublasLtGemm> gemm_;

    struct Scratch {
        std::shared_ptr<void> mem;
        size_t bytes = 0;
    };
    std::map<int, Scratch> scratch_;
    std::vector<std::shared_ptr<void>> retired_;  // grown-out scratch, kept until the queue has run

    std::vector<std::function<void(cudaStream_t)>> pending_;
    std::vector<uint64_t> key_;
    std::set<std::vector<uint64_t>> seen_;
    std::map<std::vector<uint64_t>, Graph> graphs_;
    uint64_t tick_ = 0;
    long unfused_gemms_ = 0;  // GEMMs whose fused epilogue cuBLASLt could not serve

    static bool is_device(const void* p) {
        cudaPointerAttributes a{};
        if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
            cudaGetLastError();
            return false;
        }
        return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
    }

    std::shared_ptr<void> upload_new(const std::vector<char>& bytes, const char* what) {
        auto mem = device_alloc(bytes.size(), what);
        VITRT_CUDA_CHECK(cudaMemcpy(mem.get(), bytes.data(), bytes.size(), cudaMemcpyHostToDevice));
        return mem;
    }

    void* scratch(int slot, size_t bytes) {
        Scratch& s = scratch_[slot];
        if (s.bytes < bytes) {
            if (s.mem) retired_.push_back(std::move(s.mem));
            s.bytes = std::max(bytes, s.bytes + s.bytes / 2);
            s.mem = device_alloc(s.bytes, "scratch");
        }
        return s.mem.get();
    }

    void enqueue(std::initializer_list<uint64_t> key, std::function<void(cudaStream_t)> fn) {
        if (!graphs_on_) {
            fn(stream_);
            return;
        }
        key_.push_back(~uint64_t(0));  // op separator
        key_.insert(key_.end(), key);
        pending_.push_back(std::move(fn));
    }

    void copy_d2d(void* dst, const void* src, size_t n) {
        enqueue({kCopy, u(dst), u(src), uint64_t(n)}, [=](cudaStream_t s) {
            VITRT_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, s));
        });
    }

    // Runs the queued launches: eagerly the first time this sequence is seen, captured into a CUDA
    // graph the second time, replayed from then on.
    void flush() {
        if (pending_.empty()) return;
        auto clear = [&] {
            pending_.clear();
            key_.clear();
        };
        try {
            if (auto it = graphs_.find(key_); it != graphs_.end()) {
                it->second.last_use = ++tick_;
                VITRT_CUDA_CHECK(cudaGraphLaunch(it->second.exec, stream_));
            } else if (seen_.count(key_)) {
                capture_and_launch();
            } else {
                for (auto& f : pending_) f(stream_);
                if (seen_.size() > 256) seen_.clear();
                seen_.insert(key_);
            }
        } catch (...) {
            clear();
            throw;
        }
        clear();
    }

    void capture_and_launch() {
        cudaGraph_t graph = nullptr;
        VITRT_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
        try {
            for (auto& f : pending_) f(stream_);
        } catch (...) {
            cudaStreamEndCapture(stream_, &graph);
            if (graph) cudaGraphDestroy(graph);
            cudaGetLastError();
            throw;
        }
        VITRT_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
        cudaGraphExec_t exec = nullptr;
        const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
        cudaGraphDestroy(graph);
        check_cuda(e, "cudaGraphInstantiate");
        if (graphs_.size() >= kMaxGraphs) {  // evict the least recently used
            VITRT_CUDA_CHECK(cudaStreamSynchronize(stream_));
            auto lru = std::min_element(graphs_.begin(), graphs_.end(),
                                        [](const auto& a, const auto& b) { return a.second.last_use < b.second.last_use; });
            cudaGraphExecDestroy(lru->second.exec);
            graphs_.erase(lru);
        }
        Graph& g = graphs_[key_];
        g.exec = exec;
        g.last_use = ++tick_;
        seen_.erase(key_);
        VITRT_CUDA_CHECK(cudaGraphLaunch(exec, stream_));
    }

    // x as the GEMM's A operand: itself when already in the compute dtype, else converted into scratch.
    const void* gemm_input(const Tensor& x, int64_t n) {
        if (x.dtype == cdt_) return x.data;
        void* a = scratch(kSlotA, size_t(n) * dtype_size(cdt_));
        convert(x.data, x.dtype, a, cdt_, n);
        return a;
    }

    void convert(const void* x, DType xt, void* y, DType yt, int64_t n) {
        ConvertParams p;
        p.x = x, p.x_type = xt, p.y = y, p.y_type = yt, p.n = n;
        enqueue({kConvert, u(x), u(xt), u(y), u(yt), u(n)}, [p](cudaStream_t s) { convert_launch(p, s); });
    }

    // The bias in dtype dt (cuBLASLt wants the output's dtype).
    const void* bias_in(const Tensor& bias, DType dt) {
        if (bias.dtype == dt) return bias.data;
        const Prepared* p = prepared(bias, Prepared::Kind::param);
        if (p && p->half && p->half_type == dt) return p->half.get();
        void* b = scratch(kSlotBias, size_t(bias.numel()) * dtype_size(dt));
        convert(bias.data, bias.dtype, b, dt, bias.numel());
        return b;
    }

    // y[M, N] = residual + scale * act(a[M, K] w[N, K]^T + bias), a and w in the compute dtype.
    void gemm_fused(const void* a, const void* w, int64_t M, int64_t N, int64_t K, void* y, DType yt, const Tensor* bias,
                    Activation act, const Tensor* scale, const void* residual) {
        check(cdt_ != DType::f32 || yt == DType::f32, "cuda linear: f32 GEMMs write f32 outputs only");
        GemmParams g;
        g.a = a, g.w = w, g.ab_type = cdt_, g.M = M, g.N = N, g.K = K, g.tf32 = tf32_;
        const bool general = scale != nullptr || (act != Activation::none && residual != nullptr);
        if (!general) {
            bool post_act = false;
            if (act == Activation::relu) g.epilogue = GemmEpilogue::relu;
            else if (act == Activation::gelu_erf && cdt_ != DType::f32) g.epilogue = GemmEpilogue::gelu_tanh;
            else post_act = act != Activation::none;
            g.d = y, g.d_type = yt, g.c = residual, g.bias = bias ? bias_in(*bias, yt) : nullptr;
            if (const CublasLtGemm::Plan* plan = gemm_->plan(g)) {
                launch_gemm(plan, g);
                if (post_act) epilogue(y, yt, nullptr, nullptr, y, yt, act, M, N);
                return;
            }
            // No fused algorithm for this combination: the unfused form below computes the same
            // function (with exact erf-GELU); counted in details().
            ++unfused_gemms_;
            g = GemmParams();
            g.a = a, g.w = w, g.ab_type = cdt_, g.M = M, g.N = N, g.K = K, g.tf32 = tf32_;
        }
        void* t = scratch(kSlotT, size_t(M * N) * 4);
        g.d = t, g.d_type = DType::f32, g.bias = bias ? bias_in(*bias, DType::f32) : nullptr;
        const CublasLtGemm::Plan* plan = gemm_->plan(g);
        check(plan != nullptr, "cuBLASLt offers no algorithm for M=" + std::to_string(M) + " N=" + std::to_string(N) +
                                   " K=" + std::to_string(K) + " (" + dtype_name(cdt_) + " operands, f32 output)");
        launch_gemm(plan, g);
        epilogue(t, DType::f32, scale ? scale->f32() : nullptr, residual, y, yt, act, M, N);
    }

    void launch_gemm(const CublasLtGemm::Plan* plan, const GemmParams& g) {
        CublasLtGemm* gemm = gemm_.get();
        enqueue({kGemm, u(plan), u(g.a), u(g.w), u(g.d), u(g.c), u(g.bias), u(g.M), u(g.N), u(g.K)},
                [gemm, plan, g](cudaStream_t s) { gemm->launch(plan, g, s); });
    }

    void epilogue(const void* t, DType tt, const float* scale, const void* residual, void* y, DType yt, Activation act,
                  int64_t M, int64_t N) {
        EpilogueParams p;
        p.t = t, p.t_type = tt, p.scale = scale, p.residual = residual, p.y = y, p.y_type = yt, p.act = act, p.M = M, p.N = N;
        enqueue({kEpilogue, u(t), u(tt), u(scale), u(residual), u(y), u(yt), u(act), u(M), u(N)},
                [p](cudaStream_t s) { epilogue_launch(p, s); });
    }
};

}  // namespace

std::unique_ptr<Ops> make_cuda_ops(const std::string& precision) {
    DType dt;
    bool tf32 = false;
    if (precision == "f32" || precision == "fp32") dt = DType::f32;
    else if (precision == "tf32") dt = DType::f32, tf32 = true;
    else if (precision == "f16" || precision == "fp16") dt = DType::f16;
    else if (precision == "bf16") dt = DType::bf16;
    else throw Error("unknown precision '" + precision + "' for the cuda backend (f32, tf32, f16, bf16)");
    return std::make_unique<CudaOps>(dt, tf32);
}

}  // namespace vitrt
