// The cpu backend's Ops: a table from op to kernel, nothing else.
#include "backends/cpu/cpu_ops.hpp"

#include <omp.h>

#include <cstdlib>
#include <cstring>

#include "backends/cpu/gemm_onednn.hpp"
#include "backends/cpu/gemm_quant_onednn.hpp"
#include "backends/cpu/kernels.hpp"
#include "backends/cpu/conv_onednn.hpp"
#include "backends/cpu/kernels_conv.hpp"
#include "quant/weight_quant.hpp"

namespace vitrt {
namespace {

// Prepared forms, one per role (prepared_as<> checks owner and role before the cast).
struct CpuLinear final : PreparedWeight {
    using PreparedWeight::PreparedWeight;
    std::shared_ptr<cpu::PackedWeight> gemm;  // f32 / bf16: oneDNN blocked layout
    std::shared_ptr<cpu::QuantWeight> quant;  // w8a8, w8a8-dynamic, w8, w4
};
struct CpuParam final : PreparedWeight {
    using PreparedWeight::PreparedWeight;
    std::shared_ptr<float> values;  // 64-byte aligned f32 copy
};
struct CpuConv final : PreparedWeight {
    using PreparedWeight::PreparedWeight;
    std::shared_ptr<cpu::ConvWeight> conv;
};

class CpuOps final : public Ops {
public:
    CpuOps(int threads, Precision attention) : attention_(attention) {
        if (threads > 0) omp_set_num_threads(threads);
        check(attention == Precision::f32 || attention == Precision::bf16,
              std::string("cpu: attention runs in f32 or bf16, not ") + precision_name(attention));
    }
    std::string name() const override { return "cpu"; }
    std::string details() const override {
        std::string att = "f32 attention";
        if (attention_ == Precision::bf16)
            att = bf16_attention_ ? "bf16 attention (head dim <= 128; f32 above)"
                                  : "f32 attention (bf16 asked; this CPU has no AVX512-BF16 dot products)";
        return "cpu (" + cpu::onednn_description() + ", " + std::to_string(omp_get_max_threads()) + " threads, " +
               att + ", erf GELU, " + cpu::OnednnQuantGemm::description() + ")";
    }

    bool supports(Precision p, WeightRole role) const override {
        if (p == Precision::f32) return true;
        if (role != WeightRole::linear) return false;
        return p == Precision::bf16 || p == Precision::w8a8 || p == Precision::w8a8_dynamic || p == Precision::w8 ||
               p == Precision::w4;
    }

    Tensor prepare_weight(const HostTensor& w, const WeightSpec& spec) override {
        if (!supports(spec.precision, spec.role))
            throw Error(std::string("cpu: precision ") + precision_name(spec.precision) + " is not available for " +
                        role_name(spec.role) + " weights (weight '" + spec.name + "')");
        if (spec.role == WeightRole::conv) return prepare_conv_weight(w);
        if (precision_info(spec.precision).integer) return prepare_quantized(spec);
        HostTensor f = to_f32(w);
        Tensor t;
        t.dtype = DType::f32;
        t.shape = f.view.shape;
        if (spec.role == WeightRole::linear) {
            check(t.rank() == 2, "cpu: linear weight must be 2-D, got " + shape_str(t.shape));
            auto pw = std::make_shared<CpuLinear>(this, spec.role, spec.precision);
            pw->gemm = gemm_.pack(f.f32(), t.dim(0), t.dim(1), float_storage(spec.precision));
            t.prepared = pw;
            t.data = nullptr;  // only the packed form exists
            return t;
        }
        auto pw = std::make_shared<CpuParam>(this, spec.role, spec.precision);
        pw->values = std::shared_ptr<float>(
            static_cast<float*>(std::aligned_alloc(64, (f.view.nbytes() + 63) / 64 * 64)), [](float* p) { std::free(p); });
        check(pw->values != nullptr, "cpu: out of memory preparing a weight of shape " + shape_str(t.shape));
        std::memcpy(pw->values.get(), f.view.data, f.view.nbytes());
        t.data = pw->values.get();
        t.prepared = pw;
        return t;
    }

    std::shared_ptr<void> allocate(size_t bytes) override {
        void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
        check(p != nullptr, "cpu: cannot allocate " + std::to_string(bytes) + " bytes of activations");
        return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
    }
    void upload(void* dst, const void* src, size_t n) override { std::memmove(dst, src, n); }
    void download(void* dst, const void* src, size_t n) override { std::memmove(dst, src, n); }
    void copy(const Tensor& src, const Tensor& dst) override {
        if (src.nbytes() != dst.nbytes()) throw Error("cpu copy: byte sizes differ");
        std::memmove(dst.data, src.data, src.nbytes());
    }

    void linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) override {
        const int64_t N = w.dim(0), K = w.dim(1), M = x.numel() / K;
        check(x.dim(-1) == K && y.numel() == M * N, "cpu linear: shape mismatch");
        const bool acc = o.residual != nullptr;
        if (acc && o.residual->data != y.data) std::memcpy(y.data, o.residual->data, size_t(M * N) * 4);
        const auto& lw = prepared_as<CpuLinear>(w, this, WeightRole::linear, "cpu linear");
        if (lw.quant) return quant_.run(x.f32(), M, *lw.quant, o.bias ? o.bias->f32() : nullptr, o.act, acc, y.f32(), gemm_);
        gemm_.run(x.f32(), M, *lw.gemm, o.bias ? o.bias->f32() : nullptr, o.act, acc, y.f32());
    }

    void layernorm(const Tensor& x, const Tensor& g, const Tensor& b, float eps, const Tensor& y) override {
        const int64_t D = x.dim(-1);
        cpu::layernorm_f32(x.f32(), g.f32(), b.f32(), eps, x.numel() / D, D, y.f32());
    }

    void attention(const Tensor& qkv, int heads, float scale, const Tensor& out) override {
        attention_rows(qkv, heads, scale, qkv.dim(1), out);
    }

    void attention_rows(const Tensor& qkv, int heads, float scale, int64_t rows, const Tensor& out) override {
        check(rows >= 1 && rows <= qkv.dim(1), "cpu attention: query rows out of range");
        // bf16 precision: bf16 products in attention too (the CPUs that run bf16 GEMMs natively have
        // AVX512-BF16; AMX-only would fall back to f32 products).
        auto fn = attention_ == Precision::bf16 && bf16_attention_ ? cpu::attention_bf16 : cpu::attention_f32;
        fn(qkv.f32(), qkv.dim(0), qkv.dim(1), heads, qkv.dim(2) / 3 / heads, scale, out.f32(), rows);
    }

    void patchify(const Tensor& img, int p, const Tensor& out) override {
        cpu::patchify_f32(img.f32(), img.dim(0), img.dim(1), img.dim(2), img.dim(3), p, out.f32());
    }

    void assemble_tokens(const Tensor& patches, const Tensor* prefix, const Tensor& pos, bool skip,
                         const Tensor& out) override {
        const int64_t D = patches.dim(2);
        cpu::assemble_tokens_f32(patches.f32(), prefix ? prefix->f32() : nullptr, pos.f32(), skip, patches.dim(0),
                                 patches.dim(1), prefix ? prefix->numel() / D : 0, D, out.f32());
    }

    void pool_tokens(const Tensor& x, int first, int count, const Tensor& out) override {
        cpu::pool_tokens_f32(x.f32(), x.dim(0), x.dim(1), x.dim(2), first, count, out.f32());
    }

    // Channelwise kernels with a channel multiplier (O > Cin, Cin/g == 1) run on the own kernel,
    // which is several times faster there than oneDNN's grouped convolution; everything else
    // (dense, grouped, depthwise) on oneDNN (bench/fastvit.md).
    void conv2d(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dOpts& o) override {
        const auto& cw = *prepared_as<CpuConv>(w, this, WeightRole::conv, "cpu conv2d").conv;
        cpu::ConvCall c;
        c.B = x.dim(0), c.H = x.dim(1), c.W = x.dim(2), c.C = x.dim(3), c.Ho = y.dim(1), c.Wo = y.dim(2);
        c.stride = o.stride, c.pad = o.pad, c.groups = o.groups;
        c.bias = o.bias ? o.bias->f32() : nullptr;
        c.act = o.act;
        if (!(x.rank() == 4 && y.rank() == 4 && o.groups >= 1 && c.C == cw.Ig * o.groups && cw.O % o.groups == 0 &&
              y.dim(0) == c.B && y.dim(3) == cw.O && o.stride >= 1 && o.pad >= 0 &&
              c.Ho == (c.H + 2 * c.pad - cw.KH) / c.stride + 1 && c.Wo == (c.W + 2 * c.pad - cw.KW) / c.stride + 1 &&
              !(o.residual && o.residual->data == x.data)))  // (no message built on the hot path)
            throw Error("cpu conv2d: shape mismatch (x " + shape_str(x.shape) + ", w " + shape_str(w.shape) + ", y " +
                        shape_str(y.shape) + ", stride " + std::to_string(o.stride) + ", pad " + std::to_string(o.pad) +
                        ", groups " + std::to_string(o.groups) + ") or residual aliasing x");
        if (cw.Ig == 1 && cw.O != c.C) {
            cpu::ChannelwiseConv p;
            p.x = x.f32(), p.w_hwo = cw.hwo.data(), p.bias = c.bias, p.y = y.f32();
            p.residual = o.residual ? o.residual->f32() : nullptr;
            p.B = c.B, p.H = c.H, p.W = c.W, p.C = c.C, p.O = cw.O, p.KH = cw.KH, p.KW = cw.KW, p.Ho = c.Ho, p.Wo = c.Wo;
            p.stride = c.stride, p.pad = c.pad, p.act = c.act;
            if (!cpu::can_run_channelwise(p)) throw Error("cpu conv2d: channelwise kernel cannot run this geometry");
            cpu::conv_channelwise_f32(p);
            return;
        }
        c.accumulate = o.residual != nullptr;
        if (c.accumulate && o.residual->data != y.data) std::memcpy(y.data, o.residual->data, y.nbytes());
        conv_.run(x.f32(), cw, c, y.f32());
    }

    void to_channels_last(const Tensor& x, const Tensor& y) override {
        if (!(x.rank() == 4 && y.rank() == 4 && y.dim(0) == x.dim(0) && y.dim(1) == x.dim(2) && y.dim(2) == x.dim(3) &&
              y.dim(3) == x.dim(1)))
            throw Error("cpu to_channels_last: shape mismatch");
        cpu::to_channels_last_f32(x.f32(), x.dim(0), x.dim(1), x.dim(2), x.dim(3), y.f32());
    }

    void scale_channels(const Tensor& x, const Tensor& s, Activation act, const Tensor& y) override {
        const int64_t B = x.dim(0), C = x.dim(-1);
        if (!(s.numel() == B * C && y.numel() == x.numel())) throw Error("cpu scale_channels: shape mismatch");
        cpu::scale_channels_f32(x.f32(), s.f32(), B, x.numel() / (B * C), C, act, y.f32());
    }

private:
    cpu::OnednnGemm gemm_;
    cpu::OnednnQuantGemm quant_;
    Precision attention_;
    bool bf16_attention_ = cpu::cpu_has_avx512_bf16();

    Tensor prepare_quantized(const WeightSpec& spec) {
        const QuantizedWeight& q = checked_quantized(spec, "cpu");
        auto pw = std::make_shared<CpuLinear>(this, spec.role, spec.precision);
        pw->quant = quant_.pack(q);
        Tensor t;
        t.dtype = DType::f32;  // what linear() reads and writes; the weight itself is integer
        t.shape = {q.N, q.K};
        t.prepared = pw;
        return t;
    }

    Tensor prepare_conv_weight(const HostTensor& w) {
        check(w.view.rank() == 4, "cpu: conv weight must be [O, Cin/groups, kh, kw], got " + shape_str(w.view.shape));
        HostTensor f = to_f32(w);
        const Shape& s = f.view.shape;
        auto cw = cpu::OnednnConv::make_weight(f.f32(), s[0], s[1], s[2], s[3]);
        if (s[1] == 1) {
            cw->hwo.resize(size_t(f.view.numel()));
            cpu::pack_channelwise_weight(f.f32(), s[0], s[2], s[3], cw->hwo.data());
        }
        auto pw = std::make_shared<CpuConv>(this, WeightRole::conv, Precision::f32);
        pw->conv = cw;
        Tensor t;
        t.dtype = DType::f32;
        t.shape = s;
        t.data = cw->oihw.data();
        t.prepared = pw;
        return t;
    }

    cpu::OnednnConv conv_;
};

}  // namespace

std::unique_ptr<Ops> make_cpu_ops(int threads, Precision attention) {
    return std::make_unique<CpuOps>(threads, attention);
}

}  // namespace vitrt
