// ViT forward over the Ops interface. Reference: timm/models/vision_transformer.py (v1.0),
// VisionTransformer.forward_features / forward_head in eval mode:
//   x = patch_embed(img); x = _pos_embed(x); x = norm_pre(x)
//   for blk: x = x + ls1(attn(norm1(x))); x = x + ls2(mlp(norm2(x)))
//   x = norm(x); x = pool(x); x = fc_norm(x); logits = head(x)
#include "models/vit.hpp"

#include <cmath>
#include <algorithm>
#include <set>

namespace vitrt {
namespace {

struct Block {
    Tensor norm1_w, norm1_b, qkv_w, qkv_b, proj_w, proj_b;  // LayerScale folded into proj
    Tensor norm2_w, norm2_b, fc1_w, fc1_b, fc2_w, fc2_b;    // ... and into fc2
};

class Vit final : public Model {
public:
    Vit(const VitConfig& cfg, WeightReader& reader, WeightPreparer& prep, int64_t img_h, int64_t img_w,
        ModelDescription desc)
        : cfg_(cfg), r_(reader), prep_(prep), img_h_(img_h), img_w_(img_w), desc_(std::move(desc)) {
        check(img_h % cfg.patch == 0 && img_w % cfg.patch == 0,
              "image size " + std::to_string(img_h) + "x" + std::to_string(img_w) +
                  " is not a multiple of the patch size " + std::to_string(cfg.patch));
        grid_h_ = img_h / cfg.patch;
        grid_w_ = img_w / cfg.patch;
        load_weights();
        r_.check_all_used("the checkpoint has a feature vitrt does not implement, or the architecture was "
                          "mis-detected (pass --arch NAME)");
    }

    const ModelDescription& description() const override { return desc_; }
    int num_classes() const override { return int(cfg_.num_classes ? cfg_.num_classes : cfg_.embed_dim); }
    int input_height() const override { return int(img_h_); }
    int input_width() const override { return int(img_w_); }

    Shape output_shape(ModelOutput what) const override {
        const int64_t D = cfg_.embed_dim;
        switch (what) {
            case ModelOutput::logits: return {num_classes()};
            case ModelOutput::embedding: return {D};
            case ModelOutput::tokens: return {cfg_.num_prefix_tokens() + grid_h_ * grid_w_, D};
        }
        return {};
    }

    void forward(Ops& ops, Arena& arena, const Tensor& input, const Tensor& logits, ModelOutput what) override {
        const int64_t B = input.dim(0), D = cfg_.embed_dim, N = grid_h_ * grid_w_;
        const int64_t Pf = cfg_.num_prefix_tokens(), T = Pf + N, P = cfg_.patch;
        const int64_t n_pool = cfg_.global_pool == GlobalPool::token && cfg_.dist_token ? 2 : 1;
        // Every token's final features: for the token output, and for a distilled model's
        // embedding (the mean of its cls and dist tokens after the norm, as timm's pre_logits).
        const bool all_tokens = what == ModelOutput::tokens || (what == ModelOutput::embedding && n_pool == 2);
        Tensor cols = arena.take({B * N, cfg_.in_chans * P * P});
        Tensor patches = arena.take({B, N, D});
        Tensor x = arena.take({B, T, D});
        Tensor h = arena.take({B, T, D});
        Tensor qkv = arena.take({B, T, 3 * D});
        Tensor att = arena.take({B, T, D});
        Tensor mlp = arena.take({B * T, cfg_.mlp_hidden});
        Tensor pooled = arena.take({n_pool, B, D});
        Tensor pooled_n = arena.take({n_pool, B, D});
        // Token pooling: the head reads tokens [0, n_pool) only, so after the last block's
        // attention (which needs every token's keys and values) the rest of that block runs on
        // those tokens alone, gathered as [n_pool, B, D]: ViT-B/16 skips 6.3 % of its FLOPs.
        const bool token_pool = cfg_.global_pool == GlobalPool::token && !all_tokens;
        Tensor att_p = arena.take({n_pool, B, D});
        Tensor h_p = arena.take({n_pool, B, D});
        Tensor mlp_p = arena.take({n_pool * B, cfg_.mlp_hidden});
        if (arena.planning()) return;

        ops.patchify(input, int(P), cols);
        LinearOpts pe;
        pe.bias = cfg_.patch_bias ? &patch_b_ : nullptr;
        ops.linear(cols, patch_w_, flat(patches, D), pe);
        ops.assemble_tokens(patches, Pf ? &prefix_ : nullptr, pos_, cfg_.no_embed_class, x);
        if (cfg_.pre_norm) ops.layernorm(x, norm_pre_w_, norm_pre_b_, cfg_.eps, x);

        const float scale = float(1.0 / std::sqrt(double(cfg_.head_dim())));
        bool pooled_ready = false;
        for (size_t l = 0; l < blocks_.size(); ++l) {
            const Block& b = blocks_[l];
            ops.layernorm(x, b.norm1_w, b.norm1_b, cfg_.eps, h);
            LinearOpts o_qkv;
            o_qkv.bias = cfg_.qkv_bias ? &b.qkv_b : nullptr;
            ops.linear(flat(h, D), b.qkv_w, flat(qkv, 3 * D), o_qkv);
            if (token_pool && l + 1 == blocks_.size()) {
                ops.attention_rows(qkv, int(cfg_.heads), scale, n_pool, att);
                for (int64_t i = 0; i < n_pool; ++i) {
                    ops.pool_tokens(att, int(i), 1, slice(att_p, i, B, D));
                    ops.pool_tokens(x, int(i), 1, slice(pooled, i, B, D));
                }
                mlp_tail(ops, b, att_p, pooled, h_p, mlp_p);
                pooled_ready = true;
            } else {
                ops.attention(qkv, int(cfg_.heads), scale, att);
                mlp_tail(ops, b, att, x, h, mlp);
            }
        }

        if (all_tokens) {
            if (cfg_.final_norm) ops.layernorm(x, norm_w_, norm_b_, cfg_.eps, x);
            if (what == ModelOutput::tokens) ops.copy(x, logits);
            else ops.pool_tokens(x, 0, 2, logits);  // DeiT distilled pre-logits: (cls + dist) / 2
            return;
        }
        // Pooling. LayerNorm is per token, so for token pooling the final norm runs on the pooled
        // token(s) only; average pooling needs it on every token first.
        if (cfg_.global_pool == GlobalPool::avg) {
            if (cfg_.final_norm) ops.layernorm(x, norm_w_, norm_b_, cfg_.eps, x);
            ops.pool_tokens(x, int(Pf), int(N), slice(pooled, 0, B, D));
            if (cfg_.fc_norm) ops.layernorm(slice(pooled, 0, B, D), fc_norm_w_, fc_norm_b_, cfg_.eps, slice(pooled_n, 0, B, D));
            else pooled_n = pooled;
        } else {
            for (int64_t i = 0; i < n_pool; ++i) {
                if (!pooled_ready) ops.pool_tokens(x, int(i), 1, slice(pooled, i, B, D));
                if (cfg_.final_norm)
                    ops.layernorm(slice(pooled, i, B, D), norm_w_, norm_b_, cfg_.eps, slice(pooled_n, i, B, D));
                else
                    pooled_n = pooled;
            }
            if (cfg_.fc_norm) ops.layernorm(pooled_n, fc_norm_w_, fc_norm_b_, cfg_.eps, pooled_n);
        }

        if (!cfg_.num_classes || what == ModelOutput::embedding) {  // pre-logits out
            ops.copy(slice(pooled_n, 0, B, D), logits);
            return;
        }
        LinearOpts o_head;
        o_head.bias = &head_b_;
        ops.linear(slice(pooled_n, 0, B, D), head_w_, logits, o_head);
        if (n_pool == 2) {  // DeiT distilled: (head(cls) + head_dist(dist)) / 2, halves folded at load
            LinearOpts o_dist;
            o_dist.bias = &head_dist_b_;
            o_dist.residual = &logits;
            ops.linear(slice(pooled_n, 1, B, D), head_dist_w_, logits, o_dist);
        }
    }

private:
    // The rest of a block after attention, on the tokens of x (any leading dims): x += proj(att),
    // then x += fc2(gelu(fc1(norm2(x)))). h and mlp are scratch of x's and [tokens, hidden] size.
    void mlp_tail(Ops& ops, const Block& b, const Tensor& att, const Tensor& x, const Tensor& h, const Tensor& mlp) {
        const int64_t D = cfg_.embed_dim;
        LinearOpts o_proj;
        o_proj.bias = &b.proj_b;
        o_proj.residual = &x;
        ops.linear(flat(att, D), b.proj_w, flat(x, D), o_proj);
        ops.layernorm(x, b.norm2_w, b.norm2_b, cfg_.eps, h);
        LinearOpts o_fc1;
        o_fc1.bias = &b.fc1_b;
        o_fc1.act = Activation::gelu_erf;
        ops.linear(flat(h, D), b.fc1_w, mlp, o_fc1);
        LinearOpts o_fc2;
        o_fc2.bias = &b.fc2_b;
        o_fc2.residual = &x;
        ops.linear(mlp, b.fc2_w, flat(x, D), o_fc2);
    }

    static Tensor flat(const Tensor& t, int64_t cols) {
        Tensor r = t;
        r.shape = {t.numel() / cols, cols};
        return r;
    }
    static Tensor slice(const Tensor& t, int64_t i, int64_t rows, int64_t cols) {
        Tensor r = t;
        r.shape = {rows, cols};
        r.data = static_cast<char*>(t.data) + size_t(i * rows * cols) * dtype_size(t.dtype);
        return r;
    }

    const HostTensor& need(const std::string& name, const Shape& shape) { return r_.need(name, shape); }
    Tensor param(const std::string& name, const Shape& shape, const RowScale& rows = {}) {
        return prep_.param(r_, name, shape, rows);
    }
    Tensor linear_w(const std::string& name, const Shape& shape, const RowScale& rows = {}) {
        return prep_.linear(r_, name, shape, rows);
    }

    void load_weights() {
        const int64_t D = cfg_.embed_dim, C = cfg_.in_chans, P = cfg_.patch, H = cfg_.mlp_hidden;
        {
            HostTensor w = need("patch_embed.proj.weight", {D, C, P, P});
            w.view.shape = {D, C * P * P};  // conv over non-overlapping patches == one GEMM
            patch_w_ = prep_.linear("patch_embed.proj.weight", w);
            if (cfg_.patch_bias) patch_b_ = param("patch_embed.proj.bias", {D});
        }
        // Prefix tokens in timm's order: cls, dist, registers.
        const int64_t Pf = cfg_.num_prefix_tokens();
        if (Pf) {
            HostTensor pre = HostTensor::zeros_f32({Pf, D});
            int64_t row = 0;
            auto put = [&](const std::string& name, int64_t rows) {
                const HostTensor& raw = need(name, {1, rows, D});
                WeightPreparer::check_finite("weight '" + name + "'", raw);  // named before they are combined
                HostTensor t = to_f32(raw);
                std::copy(t.f32(), t.f32() + rows * D, pre.mutable_f32() + row * D);
                row += rows;
            };
            if (cfg_.class_token) put("cls_token", 1);
            if (cfg_.dist_token) put("dist_token", 1);
            if (cfg_.reg_tokens) put("reg_token", cfg_.reg_tokens);
            prefix_ = prep_.param("cls_token", pre);
        }
        load_pos_embed();
        if (cfg_.pre_norm) {
            norm_pre_w_ = param("norm_pre.weight", {D});
            norm_pre_b_ = param("norm_pre.bias", {D});
        }
        for (int64_t i = 0; i < cfg_.depth; ++i) {
            const std::string p = "blocks." + std::to_string(i) + ".";
            Block b;
            b.norm1_w = param(p + "norm1.weight", {D});
            b.norm1_b = param(p + "norm1.bias", {D});
            b.qkv_w = linear_w(p + "attn.qkv.weight", {3 * D, D});
            if (cfg_.qkv_bias) b.qkv_b = param(p + "attn.qkv.bias", {3 * D});
            b.norm2_w = param(p + "norm2.weight", {D});
            b.norm2_b = param(p + "norm2.bias", {D});
            b.fc1_w = linear_w(p + "mlp.fc1.weight", {H, D});
            b.fc1_b = param(p + "mlp.fc1.bias", {H});
            // LayerScale folded into the layer before it, exactly up to one f32 rounding, so no
            // backend needs a scale epilogue: x + gamma * (W a + b) == x + (gamma W) a + gamma b.
            RowScale g1, g2;
            if (cfg_.layer_scale) {
                g1.per_row = &need(p + "ls1.gamma", {D}), g1.per_row_name = p + "ls1.gamma";
                g2.per_row = &need(p + "ls2.gamma", {D}), g2.per_row_name = p + "ls2.gamma";
            }
            b.proj_w = linear_w(p + "attn.proj.weight", {D, D}, g1);
            b.proj_b = param(p + "attn.proj.bias", {D}, g1);
            b.fc2_w = linear_w(p + "mlp.fc2.weight", {D, H}, g2);
            b.fc2_b = param(p + "mlp.fc2.bias", {D}, g2);
            blocks_.push_back(std::move(b));
        }
        if (cfg_.final_norm) {
            norm_w_ = param("norm.weight", {D});
            norm_b_ = param("norm.bias", {D});
        }
        if (cfg_.fc_norm) {
            fc_norm_w_ = param("fc_norm.weight", {D});
            fc_norm_b_ = param("fc_norm.bias", {D});
        }
        if (cfg_.num_classes) {
            const int64_t K = cfg_.num_classes;
            const bool distilled = cfg_.global_pool == GlobalPool::token && cfg_.dist_token;
            RowScale s;  // DeiT distilled: (head(cls) + head_dist(dist)) / 2, the halves folded (exact)
            s.all = distilled ? 0.5f : 1.0f;
            head_w_ = linear_w("head.weight", {K, D}, s);
            head_b_ = param("head.bias", {K}, s);
            if (distilled) {
                head_dist_w_ = linear_w("head_dist.weight", {K, D}, s);
                head_dist_b_ = param("head_dist.bias", {K}, s);
            }
        }
    }

    void load_pos_embed() {
        const int64_t D = cfg_.embed_dim;
        const int64_t Pf = cfg_.no_embed_class ? 0 : cfg_.num_prefix_tokens();
        const int64_t gh = cfg_.img_h / cfg_.patch, gw = cfg_.img_w / cfg_.patch;
        HostTensor pos = to_f32(need("pos_embed", {1, Pf + gh * gw, D}));
        if (gh == grid_h_ && gw == grid_w_) {
            pos.view.shape = {Pf + gh * gw, D};
            pos_ = prep_.param("pos_embed", pos);
            return;
        }
        std::vector<float> grid = resample_pos_embed_bicubic(pos.f32() + Pf * D, gh, gw, D, grid_h_, grid_w_);
        HostTensor r = HostTensor::zeros_f32({Pf + grid_h_ * grid_w_, D});
        std::copy(pos.f32(), pos.f32() + Pf * D, r.mutable_f32());
        std::copy(grid.begin(), grid.end(), r.mutable_f32() + Pf * D);
        pos_ = prep_.param("pos_embed", r);
        desc_.notes.push_back("position embedding resampled (bicubic) from " + std::to_string(gh) + "x" +
                              std::to_string(gw) + " to " + std::to_string(grid_h_) + "x" + std::to_string(grid_w_) +
                              " patches");
    }

    VitConfig cfg_;
    WeightReader& r_;
    WeightPreparer& prep_;
    int64_t img_h_, img_w_, grid_h_ = 0, grid_w_ = 0;
    ModelDescription desc_;

    Tensor patch_w_, patch_b_, prefix_, pos_, norm_pre_w_, norm_pre_b_;
    std::vector<Block> blocks_;
    Tensor norm_w_, norm_b_, fc_norm_w_, fc_norm_b_, head_w_, head_b_, head_dist_w_, head_dist_b_;
};

}  // namespace

std::unique_ptr<Model> make_vit(const VitConfig& cfg, WeightReader& reader, WeightPreparer& prep, int64_t image_h,
                                int64_t image_w, ModelDescription desc) {
    return std::make_unique<Vit>(cfg, reader, prep, image_h, image_w, std::move(desc));
}

}  // namespace vitrt
