// The cpu backend's Ops: a table from op to kernel, nothing else.
#include "backends/cpu/cpu_ops.hpp"

#include <omp.h>

#include <cstdlib>
#include <cstring>

#include "backends/cpu/gemm_onednn.hpp"
#include "backends/cpu/kernels.hpp"

namespace vitrt {
namespace {

class CpuOps final : public Ops {
public:
    explicit CpuOps(int threads) {
        if (threads > 0) omp_set_num_threads(threads);
    }
    std::string name() const override { return "cpu"; }
    std::string details() const override {
        return "cpu (" + cpu::onednn_description() + ", " + std::to_string(omp_get_max_threads()) + " threads)";
    }

    Tensor prepare_weight(const HostTensor& w, WeightRole role) override {
        HostTensor f = to_f32(w);
        Tensor t;
        t.dtype = DType::f32;
        t.shape = f.view.shape;
        if (role == WeightRole::linear) {
            check(t.rank() == 2, "cpu: linear weight must be 2-D, got " + shape_str(t.shape));
            auto packed = gemm_.pack(f.f32(), t.dim(0), t.dim(1));
            t.packed = packed;
            t.data = nullptr;  // only the packed form exists
            return t;
        }
        auto buf = std::shared_ptr<float>(static_cast<float*>(std::aligned_alloc(64, (f.view.nbytes() + 63) / 64 * 64)),
                                          [](float* p) { std::free(p); });
        check(buf != nullptr, "cpu: out of memory preparing a weight of shape " + shape_str(t.shape));
        std::memcpy(buf.get(), f.view.data, f.view.nbytes());
        t.data = buf.get();
        t.packed = buf;
        return t;
    }

    std::shared_ptr<void> allocate(size_t bytes) override {
        void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
        check(p != nullptr, "cpu: cannot allocate " + std::to_string(bytes) + " bytes of activations");
        return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
    }
    void upload(void* dst, const void* src, size_t n) override { std::memmove(dst, src, n); }
    void download(void* dst, const void* src, size_t n) override { std::memmove(dst, src, n); }

    void linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) override {
        const int64_t N = w.dim(0), K = w.dim(1), M = x.numel() / K;
        check(x.dim(-1) == K && y.numel() == M * N, "cpu linear: shape mismatch");
        const bool acc = o.residual != nullptr;
        if (acc && o.residual->data != y.data) std::memcpy(y.data, o.residual->data, size_t(M * N) * 4);
        gemm_.run(x.f32(), M, *static_cast<const cpu::PackedWeight*>(w.packed.get()), o.bias ? o.bias->f32() : nullptr,
                  o.act, o.scale ? o.scale->f32() : nullptr, acc, y.f32());
    }

    void layernorm(const Tensor& x, const Tensor& g, const Tensor& b, float eps, const Tensor& y) override {
        const int64_t D = x.dim(-1);
        cpu::layernorm_f32(x.f32(), g.f32(), b.f32(), eps, x.numel() / D, D, y.f32());
    }

    void attention(const Tensor& qkv, int heads, float scale, const Tensor& out) override {
        cpu::attention_f32(qkv.f32(), qkv.dim(0), qkv.dim(1), heads, qkv.dim(2) / 3 / heads, scale, out.f32());
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

private:
    cpu::OnednnGemm gemm_;
};

}  // namespace

std::unique_ptr<Ops> make_cpu_ops(int threads) { return std::make_unique<CpuOps>(threads); }

}  // namespace vitrt
