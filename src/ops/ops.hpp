// The op interface every backend implements and every model is written against.
//
// Model code calls these ops and never names a backend or a precision: a backend decides, in
// prepare_weight(), how a weight is stored (repacked, converted, quantized, uploaded) from the
// WeightSpec it is given, and, in each op, which kernel runs for the weight's own precision
// (ops/prepared_weight.hpp). Fusion is expressed through option structs (ops/op_options.hpp),
// not new op names: the reference backend decomposes them, fast backends fuse them.
//
// Layout conventions: activations are row-major, tokens x features ([B, T, D] or [M, K]); images
// are NCHW f32 on the backend's memory. Linear weights are PyTorch-style [N, K] (y = x W^T + b).
// Convolutional models keep feature maps channels-last ([B, H, W, C]: pixels are tokens), so a
// 1x1 convolution is linear() over [B*H*W, C].
//
// Adding an op: declare it here, implement it in backends/ref (the oracle), in each backend, and
// add one row to the op-test table (tests/ops/test_ops.cpp).
#pragma once

#include <memory>
#include <string>

#include "core/tensor.hpp"
#include "ops/op_options.hpp"
#include "ops/precision.hpp"
#include "ops/prepared_weight.hpp"

namespace vitrt {

class Ops {
public:
    virtual ~Ops() = default;
    virtual std::string name() const = 0;
    // One line for logs and benchmark stamps: library versions, ISA, threads.
    virtual std::string details() const { return name(); }

    // --- load time ---------------------------------------------------------------------------
    // Converts a weight into this backend's form, in spec.precision: a host f32/f16/bf16 tensor
    // for float precisions, spec.quantized for integer ones (w is then unused and may be empty).
    // Called once per weight. A precision the backend cannot run is a vitrt::Error naming it.
    virtual Tensor prepare_weight(const HostTensor& w, const WeightSpec& spec) = 0;
    // Whether prepare_weight accepts this precision for this role (for early, clear errors).
    virtual bool supports(Precision p, WeightRole role) const { return p == Precision::f32; }
    // Memory for activations (one arena per plan); freed when the returned owner dies.
    virtual std::shared_ptr<void> allocate(size_t bytes) = 0;
    // Copies between host and backend memory (plain memcpy on CPU backends).
    virtual void upload(void* dst, const void* src, size_t bytes) = 0;
    virtual void download(void* dst, const void* src, size_t bytes) = 0;
    // Device-to-device copy of src's bytes into dst (equal byte sizes), ordered with the ops.
    virtual void copy(const Tensor& src, const Tensor& dst) = 0;
    // Blocks until queued work is finished (no-op on synchronous backends).
    virtual void synchronize() {}
    // Backends that record repeated launch sequences as graphs (cuda) replay them while this is on
    // (the default). Off while profiling: per-op synchronisation would capture one graph per op.
    virtual void set_graph_capture(bool on) { (void)on; }

    // --- activations -------------------------------------------------------------------------
    // y[M, N] = residual + act(x[M, K] W^T + bias). x and y are 2-D views (any leading dims
    // flattened into M). y may alias residual. w: prepared with WeightRole::linear, any precision
    // the backend supports; x, y, residual and bias are f32.
    virtual void linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) = 0;

    // Row-wise LayerNorm over the last dim: y = (x - mean) / sqrt(var + eps) * gamma + beta.
    virtual void layernorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
                           const Tensor& y) = 0;

    // Multi-head self-attention on a packed qkv [B, T, 3 * heads * head_dim] (q | k | v, heads
    // contiguous within each): out[B, T, heads * head_dim] = softmax(q k^T * scale) v.
    virtual void attention(const Tensor& qkv, int heads, float scale, const Tensor& out) = 0;
    // The same for the first `query_rows` tokens of every image only (keys and values: all T):
    // rows [0, query_rows) of every image in out are what attention() writes, the other rows are
    // unspecified. For a last block whose output the head reads at the class token(s) only.
    // Default: the full attention.
    virtual void attention_rows(const Tensor& qkv, int heads, float scale, int64_t query_rows, const Tensor& out) {
        (void)query_rows;
        attention(qkv, heads, scale, out);
    }

    // Non-overlapping patches: img [B, C, H, W] -> out [B, (H/P)*(W/P), C*P*P], patches in
    // row-major grid order, features in (c, ky, kx) order (matches a conv weight [D, C, P, P]).
    virtual void patchify(const Tensor& img, int patch, const Tensor& out) = 0;

    // Token sequence: out[B, Pf + N, D] = concat(prefix[Pf, D] broadcast over B, patches[B, N, D])
    // plus pos. pos has Pf + N rows (added after concatenation) or N rows when pos_skips_prefix
    // (added to the patch tokens only, timm's no_embed_class). prefix may be empty (Pf = 0).
    virtual void assemble_tokens(const Tensor& patches, const Tensor* prefix, const Tensor& pos,
                                 bool pos_skips_prefix, const Tensor& out) = 0;

    // Pools x[B, T, D] over tokens [first, first + count) into out[B, D] (mean; count 1 = select).
    virtual void pool_tokens(const Tensor& x, int first, int count, const Tensor& out) = 0;

    // --- convolutional models (FastViT): activations are channels-last (NHWC) -----------------
    // The defaults throw: a backend without them cannot run convolutional models (never silent).
    //
    // 2-D convolution, NHWC: x [B, H, W, Cin], w prepared with WeightRole::conv from [O, Cin/g,
    // kh, kw], y [B, Ho, Wo, O] with Ho = (H + 2 pad - kh) / stride + 1 (same for W). Dense,
    // grouped and depthwise (also with a channel multiplier O / Cin > 1) convolutions.
    virtual void conv2d(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dOpts& o);
    // x [B, C, H, W] (the engine's NCHW image) -> y [B, H, W, C].
    virtual void to_channels_last(const Tensor& x, const Tensor& y);
    // y[b, t, c] = act(x[b, t, c] * s[b, c]) for x, y [B, T, C] and s [B, C] (squeeze-excite
    // gating); y may alias x.
    virtual void scale_channels(const Tensor& x, const Tensor& s, Activation act, const Tensor& y);
};

inline void Ops::conv2d(const Tensor&, const Tensor&, const Tensor&, const Conv2dOpts&) {
    throw Error("the " + name() + " backend does not implement conv2d (needed by convolutional models)");
}
inline void Ops::to_channels_last(const Tensor&, const Tensor&) {
    throw Error("the " + name() + " backend does not implement to_channels_last (needed by convolutional models)");
}
inline void Ops::scale_channels(const Tensor&, const Tensor&, Activation, const Tensor&) {
    throw Error("the " + name() + " backend does not implement scale_channels (needed by convolutional models)");
}

}  // namespace vitrt
