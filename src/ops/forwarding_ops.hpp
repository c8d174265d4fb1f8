// An Ops that forwards every op to another backend: the base of decorators (profiling,
// calibration) that override only what they watch. Weights stay the inner backend's.
#pragma once

#include "ops/ops.hpp"

namespace vitrt {

class ForwardingOps : public Ops {
public:
    explicit ForwardingOps(Ops& inner) : in_(inner) {}
    std::string name() const override { return in_.name(); }
    std::string details() const override { return in_.details(); }
    Tensor prepare_weight(const HostTensor& w, const WeightSpec& s) override { return in_.prepare_weight(w, s); }
    bool supports(Precision p, WeightRole r) const override { return in_.supports(p, r); }
    std::shared_ptr<void> allocate(size_t n) override { return in_.allocate(n); }
    void upload(void* d, const void* s, size_t n) override { in_.upload(d, s, n); }
    void download(void* d, const void* s, size_t n) override { in_.download(d, s, n); }
    void copy(const Tensor& s, const Tensor& d) override { in_.copy(s, d); }
    void synchronize() override { in_.synchronize(); }
    void set_graph_capture(bool on) override { in_.set_graph_capture(on); }
    void linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) override { in_.linear(x, w, y, o); }
    void layernorm(const Tensor& x, const Tensor& g, const Tensor& b, float eps, const Tensor& y) override {
        in_.layernorm(x, g, b, eps, y);
    }
    void attention(const Tensor& qkv, int heads, float scale, const Tensor& out) override {
        in_.attention(qkv, heads, scale, out);
    }
    void attention_rows(const Tensor& qkv, int heads, float scale, int64_t rows, const Tensor& out) override {
        in_.attention_rows(qkv, heads, scale, rows, out);
    }
    void patchify(const Tensor& img, int p, const Tensor& out) override { in_.patchify(img, p, out); }
    void assemble_tokens(const Tensor& pt, const Tensor* pre, const Tensor& pos, bool skip, const Tensor& out) override {
        in_.assemble_tokens(pt, pre, pos, skip, out);
    }
    void pool_tokens(const Tensor& x, int first, int count, const Tensor& out) override {
        in_.pool_tokens(x, first, count, out);
    }
    void conv2d(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dOpts& o) override { in_.conv2d(x, w, y, o); }
    void to_channels_last(const Tensor& x, const Tensor& y) override { in_.to_channels_last(x, y); }
    void scale_channels(const Tensor& x, const Tensor& s, Activation act, const Tensor& y) override {
        in_.scale_channels(x, s, act, y);
    }

protected:
    Ops& in_;
};

}  // namespace vitrt
