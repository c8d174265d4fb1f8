// The op interface every backend implements and every model is written against.
//
// Model code calls these ops and never names a backend or a precision: a backend decides, in
// prepare_weight(), how a weight is stored (repacked, converted, uploaded) and, in each op, which
// kernel runs. Fusion is expressed through option structs (LinearOpts), not new op names: the
// reference backend decomposes them, fast backends fuse them.
//
// Layout conventions: activations are row-major, tokens x features ([B, T, D] or [M, K]); images
// are NCHW f32 on the backend's memory. Linear weights are PyTorch-style [N, K] (y = x W^T + b).
#pragma once

#include <memory>
#include <string>

#include "core/tensor.hpp"

namespace vitrt {

enum class Activation { none, gelu_erf, relu, sigmoid };

// What a weight is used for; lets a backend pick its layout at load.
enum class WeightRole {
    linear,  // [N, K] matrix of a linear layer
    param,   // vectors and small tensors used as-is (biases, norms, tokens, embeddings)
};

struct LinearOpts {
    const Tensor* bias = nullptr;      // [N]
    Activation act = Activation::none;
    const Tensor* scale = nullptr;     // [N], multiplies the activated output (LayerScale)
    const Tensor* residual = nullptr;  // [M, N], added last: y = residual + scale * act(xW^T + b)
};

class Ops {
public:
    virtual ~Ops() = default;
    virtual std::string name() const = 0;
    // One line for logs and benchmark stamps: library versions, ISA, threads.
    virtual std::string details() const { return name(); }

    // --- load time ---------------------------------------------------------------------------
    // Converts a host f32/f16/bf16 tensor into this backend's form. Called once per weight.
    virtual Tensor prepare_weight(const HostTensor& w, WeightRole role) = 0;
    // Memory for activations (one arena per plan); freed when the returned owner dies.
    virtual std::shared_ptr<void> allocate(size_t bytes) = 0;
    // Copies between host and backend memory (plain memcpy on CPU backends).
    virtual void upload(void* dst, const void* src, size_t bytes) = 0;
    virtual void download(void* dst, const void* src, size_t bytes) = 0;
    // Blocks until queued work is finished (no-op on synchronous backends).
    virtual void synchronize() {}

    // --- activations -------------------------------------------------------------------------
    // y[M, N] = residual + scale * act(x[M, K] W^T + bias). x and y are 2-D views (any leading
    // dims flattened into M). y may alias residual.
    virtual void linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) = 0;

    // Row-wise LayerNorm over the last dim: y = (x - mean) / sqrt(var + eps) * gamma + beta.
    virtual void layernorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
                           const Tensor& y) = 0;

    // Multi-head self-attention on a packed qkv [B, T, 3 * heads * head_dim] (q | k | v, heads
    // contiguous within each): out[B, T, heads * head_dim] = softmax(q k^T * scale) v.
    virtual void attention(const Tensor& qkv, int heads, float scale, const Tensor& out) = 0;

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
};

}  // namespace vitrt
