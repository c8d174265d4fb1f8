#include "engine/profiling_ops.hpp"

#include <chrono>

#include "ops/forwarding_ops.hpp"

namespace vitrt {
namespace {

class ProfilingOps final : public ForwardingOps {
public:
    // Per-op timings need eager launches: graph capture is off while profiling.
    ProfilingOps(Ops& inner, OpProfile& p) : ForwardingOps(inner), p_(p) { in_.set_graph_capture(false); }
    ~ProfilingOps() override { in_.set_graph_capture(true); }
    void set_graph_capture(bool) override {}

    void copy(const Tensor& s, const Tensor& d) override {
        timed("other", [&] { in_.copy(s, d); });
    }
    void linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) override {
        timed("gemm", [&] { in_.linear(x, w, y, o); });
    }
    void layernorm(const Tensor& x, const Tensor& g, const Tensor& b, float eps, const Tensor& y) override {
        timed("norm", [&] { in_.layernorm(x, g, b, eps, y); });
    }
    void attention(const Tensor& qkv, int heads, float scale, const Tensor& out) override {
        timed("attention", [&] { in_.attention(qkv, heads, scale, out); });
    }
    void attention_rows(const Tensor& qkv, int heads, float scale, int64_t rows, const Tensor& out) override {
        timed("attention", [&] { in_.attention_rows(qkv, heads, scale, rows, out); });
    }
    void patchify(const Tensor& img, int p, const Tensor& out) override {
        timed("other", [&] { in_.patchify(img, p, out); });
    }
    void assemble_tokens(const Tensor& pt, const Tensor* pre, const Tensor& pos, bool skip, const Tensor& out) override {
        timed("elementwise", [&] { in_.assemble_tokens(pt, pre, pos, skip, out); });
    }
    void pool_tokens(const Tensor& x, int first, int count, const Tensor& out) override {
        timed("other", [&] { in_.pool_tokens(x, first, count, out); });
    }
    void conv2d(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dOpts& o) override {
        timed("conv", [&] { in_.conv2d(x, w, y, o); });
    }
    void to_channels_last(const Tensor& x, const Tensor& y) override {
        timed("other", [&] { in_.to_channels_last(x, y); });
    }
    void scale_channels(const Tensor& x, const Tensor& s, Activation act, const Tensor& y) override {
        timed("elementwise", [&] { in_.scale_channels(x, s, act, y); });
    }

private:
    template <class F>
    void timed(const char* kind, F&& f) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        in_.synchronize();
        p_.seconds[kind] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        p_.calls[kind] += 1;
    }
    OpProfile& p_;
};

}  // namespace

std::unique_ptr<Ops> make_profiling_ops(Ops& inner, OpProfile& profile) {
    return std::make_unique<ProfilingOps>(inner, profile);
}

}  // namespace vitrt
