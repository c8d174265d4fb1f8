// The cuda backend's ops served by its own kernels (kernels.hpp): argument checks at the call,
// then one queued launch each (launch_queue.hpp). Parameters read by a launch are held until it ran.
#include "backends/cuda/cuda_backend.hpp"

namespace vitrt::cuda {

void CudaOps::layernorm(const Tensor& x, const Tensor& g, const Tensor& b, float eps, const Tensor& y) {
    const int64_t D = x.dim(-1);
    VITRT_CUDA_REQUIRE(g.numel() == D && b.numel() == D && g.dtype == DType::f32 && b.dtype == DType::f32 &&
                           y.numel() == x.numel(),
                       "cuda layernorm: shape or dtype mismatch (x " + shape_str(x.shape) + ", y " + shape_str(y.shape) + ")");
    VITRT_CUDA_REQUIRE(y.data != x.data || y.dtype == x.dtype, "cuda layernorm: in place needs one dtype");
    LayerNormParams p;
    p.x = x.data, p.x_type = x.dtype, p.gamma = g.f32(), p.beta = b.f32(), p.y = y.data, p.y_type = y.dtype;
    p.eps = eps, p.rows = x.numel() / D, p.D = D;
    VITRT_CUDA_REQUIRE(layernorm_can_run(p),
                       "cuda layernorm: rows of " + std::to_string(D) + " elements are not supported (max 16384)");
    hold(g);
    hold(b);
    enqueue({kLayerNorm, u(p.x), u(p.x_type), u(p.gamma), u(p.beta), u(p.y), u(p.y_type), u(eps), u(p.rows), u(D)},
            [p](cudaStream_t s) { layernorm_launch(p, s); });
}

void CudaOps::attention(const Tensor& qkv, int heads, float scale, const Tensor& out) {
    VITRT_CUDA_REQUIRE(qkv.rank() == 3 && heads > 0 && qkv.dim(2) % (3 * int64_t(heads)) == 0,
                       "cuda attention: qkv must be [B, T, 3 * heads * head_dim], got " + shape_str(qkv.shape));
    AttentionParams p;
    p.B = qkv.dim(0), p.T = qkv.dim(1), p.heads = heads, p.head_dim = qkv.dim(2) / 3 / heads;
    VITRT_CUDA_REQUIRE(out.numel() == p.B * p.T * heads * p.head_dim && out.dtype == qkv.dtype,
                       "cuda attention: out must be [B, T, heads * head_dim] in qkv's dtype");
    p.qkv = qkv.data, p.out = out.data, p.io_type = qkv.dtype, p.scale = scale;
    p.compute = cdt_ != DType::f32 && attention_tc_head_dim_supported(p.head_dim) ? cdt_ : DType::f32;
    if (p.compute != DType::f32 && p.io_type != DType::f32 && p.io_type != p.compute) p.compute = DType::f32;
    VITRT_CUDA_REQUIRE(attention_can_run(p), "cuda attention: unsupported (head_dim " + std::to_string(p.head_dim) +
                                                 " > 256, or more than 65535 images or heads)");
    enqueue({kAttention, u(p.qkv), u(p.out), u(p.io_type), u(p.compute), u(p.B), u(p.T), u(int64_t(heads)),
             u(p.head_dim), u(scale)},
            [p](cudaStream_t s) { attention_launch(p, s); });
}

void CudaOps::patchify(const Tensor& img, int patch, const Tensor& out) {
    VITRT_CUDA_REQUIRE(img.rank() == 4 && patch > 0 && img.dim(2) % patch == 0 && img.dim(3) % patch == 0,
                       "cuda patchify: image " + shape_str(img.shape) + " is not a multiple of the patch " +
                           std::to_string(patch));
    PatchifyParams p;
    p.img = img.data, p.img_type = img.dtype, p.cols = out.data, p.cols_type = out.dtype;
    p.B = img.dim(0), p.C = img.dim(1), p.H = img.dim(2), p.W = img.dim(3), p.P = patch;
    VITRT_CUDA_REQUIRE(out.numel() == img.numel(), "cuda patchify: out has the wrong size");
    enqueue({kPatchify, u(p.img), u(p.img_type), u(p.cols), u(p.cols_type), u(p.B), u(p.C), u(p.H), u(p.W), u(p.P)},
            [p](cudaStream_t s) { patchify_launch(p, s); });
}

void CudaOps::assemble_tokens(const Tensor& patches, const Tensor* prefix, const Tensor& pos, bool skip,
                              const Tensor& out) {
    AssembleParams p;
    p.B = patches.dim(0), p.N = patches.dim(1), p.D = patches.dim(2);
    p.Pf = prefix ? prefix->numel() / p.D : 0;
    VITRT_CUDA_REQUIRE((!prefix || prefix->dtype == DType::f32) && pos.dtype == DType::f32 &&
                           pos.numel() == ((skip ? 0 : p.Pf) + p.N) * p.D && out.numel() == p.B * (p.Pf + p.N) * p.D,
                       "cuda assemble_tokens: shape or dtype mismatch (prefix and pos are f32 parameters)");
    p.patches = patches.data, p.patches_type = patches.dtype, p.prefix = prefix ? prefix->f32() : nullptr;
    p.pos = pos.f32(), p.pos_skips_prefix = skip, p.out = out.data, p.out_type = out.dtype;
    if (prefix) hold(*prefix);
    hold(pos);
    enqueue({kAssemble, u(p.patches), u(p.patches_type), u(p.prefix), u(p.pos), u(int64_t(skip)), u(p.out),
             u(p.out_type), u(p.B), u(p.N), u(p.Pf), u(p.D)},
            [p](cudaStream_t s) { assemble_tokens_launch(p, s); });
}

void CudaOps::pool_tokens(const Tensor& x, int first, int count, const Tensor& out) {
    PoolParams p;
    p.B = x.dim(0), p.T = x.dim(1), p.D = x.dim(2), p.first = first, p.count = count;
    VITRT_CUDA_REQUIRE(first >= 0 && count >= 1 && first + count <= p.T && out.numel() == p.B * p.D,
                       "cuda pool_tokens: token range or output shape mismatch");
    p.x = x.data, p.x_type = x.dtype, p.out = out.data, p.out_type = out.dtype;
    enqueue({kPool, u(p.x), u(p.x_type), u(p.out), u(p.out_type), u(p.B), u(p.T), u(p.D), u(p.first), u(p.count)},
            [p](cudaStream_t s) { pool_tokens_launch(p, s); });
}

void CudaOps::to_channels_last(const Tensor& x, const Tensor& y) {
    VITRT_CUDA_REQUIRE((x.rank() == 4 && y.shape == Shape{x.dim(0), x.dim(2), x.dim(3), x.dim(1)} && x.data != y.data),
                       "cuda to_channels_last: shape mismatch or in place");
    const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const void* xp = x.data;
    void* yp = y.data;
    const DType xt = x.dtype, yt = y.dtype;
    enqueue({kChannelsLast, u(xp), u(xt), u(yp), u(yt), u(B), u(C), u(H), u(W)},
            [=](cudaStream_t s) { to_channels_last_launch(xp, xt, yp, yt, B, C, H, W, s); });
}

void CudaOps::scale_channels(const Tensor& x, const Tensor& sc, Activation act, const Tensor& y) {
    const int64_t B = x.dim(0), C = x.dim(-1), T = x.numel() / (B * C);
    VITRT_CUDA_REQUIRE(sc.numel() == B * C && y.numel() == x.numel() && (y.data != x.data || y.dtype == x.dtype),
                       "cuda scale_channels: shape mismatch");
    const void* xp = x.data;
    const void* sp = sc.data;
    void* yp = y.data;
    const DType xt = x.dtype, st = sc.dtype, yt = y.dtype;
    hold(sc);
    enqueue({kScaleChannels, u(xp), u(xt), u(sp), u(st), u(yp), u(yt), u(act), u(B), u(T), u(C)},
            [=](cudaStream_t s) { scale_channels_launch(xp, xt, sp, st, yp, yt, act, B, T, C, s); });
}

}  // namespace vitrt::cuda
