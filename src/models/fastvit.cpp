// FastViT forward over the Ops interface (see fastvit.hpp for the architecture and references).
#include "models/fastvit.hpp"

#include "models/fastvit_geometry.hpp"

#include <algorithm>
#include <cmath>

namespace vitrt {
namespace {

// A prepared convolution; 1x1 stride-1 dense ones run as Ops::linear over [B*H*W, Cin].
struct Conv {
    Tensor w, b;
    int64_t out = 0, k = 1, stride = 1, pad = 0, groups = 1;
    bool pointwise = false;
};

struct Block {
    bool attention = false;
    Conv mixer, mlp_conv;
    Tensor qkv_w, qkv_b, proj_w, proj_b, fc1_w, fc1_b, fc2_w, fc2_b;  // layer scales folded into proj, fc2
};

struct Stage {
    int64_t dim = 0, hidden = 0;
    bool downsample = false, pos = false;
    Conv down_conv, down_proj, pos_conv;
    std::vector<Block> blocks;
};

Tensor view(const Tensor& buf, const Shape& shape) {
    Tensor t;
    t.data = buf.data;
    t.dtype = buf.dtype;
    t.shape = shape;
    return t;
}

Tensor rows(const Tensor& t, int64_t cols) { return view(t, {t.numel() / cols, cols}); }

class FastVit final : public Model {
public:
    FastVit(const FastVitConfig& cfg, FastVitWeights w, WeightPreparer& prep, int64_t img_h, int64_t img_w,
            ModelDescription desc)
        : cfg_(cfg), prep_(prep), img_h_(img_h), img_w_(img_w), desc_(std::move(desc)) {
        prepare(w);
        size_buffers();
    }

    const ModelDescription& description() const override { return desc_; }
    int num_classes() const override { return int(cfg_.num_classes ? cfg_.num_classes : cfg_.num_features); }
    int input_height() const override { return int(img_h_); }
    int input_width() const override { return int(img_w_); }
    void set_hook(FastVitStageHook h) { hook_ = std::move(h); }

    Shape output_shape(ModelOutput what) const override {
        switch (what) {
            case ModelOutput::logits: return {num_classes()};
            case ModelOutput::embedding: return {cfg_.num_features};
            case ModelOutput::tokens: return {final_h_ * final_w_, cfg_.num_features};
        }
        return {};
    }

    void forward(Ops& ops, Arena& arena, const Tensor& input, const Tensor& logits, ModelOutput what) override {
        // Images run in chunks whose activations stay in cache (nothing mixes images); the arena
        // holds one chunk's buffers.
        const int64_t B = input.dim(0), chunk = std::min(B, chunk_), F = cfg_.num_features;
        Buffers bufs;
        bufs.act[0] = arena.take({chunk * max_act_});
        bufs.act[1] = arena.take({chunk * max_act_});
        bufs.tmp = arena.take({chunk * max_act_});
        bufs.hid = arena.take({chunk * max_hidden_});
        bufs.pooled = arena.take({chunk, F}), bufs.se_mid = arena.take({chunk, cfg_.se_hidden});
        bufs.gate = arena.take({chunk, F});
        if (arena.planning()) return;
        const int64_t in_size = input.numel() / B, out_size = logits.numel() / B;
        for (int64_t i0 = 0; i0 < B; i0 += chunk) {
            const int64_t n = std::min(chunk, B - i0);
            Tensor in = view(input, {n, input.dim(1), input.dim(2), input.dim(3)});
            in.data = static_cast<float*>(input.data) + i0 * in_size;
            Shape os = logits.shape;
            os[0] = n;
            Tensor out = view(logits, os);
            out.data = static_cast<float*>(logits.data) + i0 * out_size;
            run(ops, bufs, in, out, i0, what);
        }
    }

private:
    struct Buffers {
        Tensor act[2], tmp, hid, pooled, se_mid, gate;
    };

    // The network on images [first, first + B) of the batch.
    void run(Ops& ops, const Buffers& bufs, const Tensor& input, const Tensor& logits, int64_t first, ModelOutput what) {
        const int64_t B = input.dim(0), F = cfg_.num_features;
        const Tensor* buf = bufs.act;
        const Tensor &tmp = bufs.tmp, &hid = bufs.hid;
        Tensor pooled = view(bufs.pooled, {B, F}), se_mid = view(bufs.se_mid, {B, cfg_.se_hidden});
        Tensor gate = view(bufs.gate, {B, F});
        int cur = 0;
        int64_t H = img_h_, W = img_w_;
        // The other ping-pong buffer becomes current, shaped [B, h, w, c].
        auto next = [&](int64_t h, int64_t w, int64_t c) {
            cur ^= 1;
            return view(buf[cur], {B, h, w, c});
        };
        auto emit = [&](const char* name, const Tensor& t) {
            if (hook_) hook_(name, first, t);
        };

        Tensor img = view(tmp, {B, H, W, cfg_.in_chans});
        ops.to_channels_last(input, img);
        Tensor x = conv(ops, img, stem_[0], Activation::gelu_erf, H, W, [&](int64_t h, int64_t w, int64_t c) {
            return view(buf[cur], {B, h, w, c});
        });
        x = conv(ops, x, stem_[1], Activation::gelu_erf, H, W, next);
        x = conv(ops, x, stem_[2], Activation::gelu_erf, H, W, next);
        emit("stem", x);

        for (size_t si = 0; si < stages_.size(); ++si) {
            const Stage& st = stages_[si];
            const int64_t D = st.dim;
            if (st.downsample) {
                Tensor t = conv(ops, x, st.down_conv, Activation::none, H, W,
                                [&](int64_t h, int64_t w, int64_t c) { return view(tmp, {B, h, w, c}); });
                x = conv(ops, t, st.down_proj, Activation::gelu_erf, H, W, next);
            }
            if (st.pos) x = conv(ops, x, st.pos_conv, Activation::none, H, W, next);
            const int64_t T = H * W;
            for (const Block& b : st.blocks) {
                if (!b.attention) {
                    x = conv(ops, x, b.mixer, Activation::none, H, W, next);
                } else {
                    Tensor qkv = view(hid, {B, T, 3 * D}), att = view(tmp, {B, T, D});
                    LinearOpts oq;
                    oq.bias = &b.qkv_b;
                    ops.linear(rows(x, D), b.qkv_w, rows(qkv, 3 * D), oq);
                    ops.attention(qkv, int(D / cfg_.head_dim), attn_scale_, att);
                    LinearOpts op;
                    op.bias = &b.proj_b;
                    op.residual = &x;
                    ops.linear(rows(att, D), b.proj_w, rows(x, D), op);
                }
                // ConvFFN: x += gamma * fc2(GELU(fc1(dwconv(x)))) (gamma folded into fc2).
                Tensor t = conv(ops, x, b.mlp_conv, Activation::none, H, W,
                                [&](int64_t h, int64_t w, int64_t c) { return view(tmp, {B, h, w, c}); });
                Tensor h = view(hid, {B * T, st.hidden});
                LinearOpts o1;
                o1.bias = &b.fc1_b;
                o1.act = Activation::gelu_erf;
                ops.linear(rows(t, D), b.fc1_w, h, o1);
                LinearOpts o2;
                o2.bias = &b.fc2_b;
                o2.residual = &x;
                ops.linear(h, b.fc2_w, rows(x, D), o2);
            }
            emit(stage_names_[si].c_str(), x);
        }

        // final_conv: MobileOne 3x3 + squeeze-excite, then GELU; head: mean over pixels, Linear.
        Tensor y = conv(ops, x, final_, Activation::none, H, W, next);
        const Tensor tokens = view(y, {B, H * W, F});
        ops.pool_tokens(tokens, 0, int(H * W), pooled);
        LinearOpts s1;
        s1.bias = &se_fc1_b_;
        s1.act = Activation::relu;
        ops.linear(pooled, se_fc1_w_, se_mid, s1);
        LinearOpts s2;
        s2.bias = &se_fc2_b_;
        s2.act = Activation::sigmoid;
        ops.linear(se_mid, se_fc2_w_, gate, s2);
        ops.scale_channels(tokens, gate, Activation::gelu_erf, tokens);
        emit("final_conv", y);
        if (what == ModelOutput::tokens) {
            ops.copy(tokens, logits);
            return;
        }
        if (!cfg_.num_classes || what == ModelOutput::embedding) {
            ops.pool_tokens(tokens, 0, int(H * W), logits);  // features out
            return;
        }
        ops.pool_tokens(tokens, 0, int(H * W), pooled);
        LinearOpts oh;
        oh.bias = &head_b_;
        ops.linear(pooled, head_w_, logits, oh);
    }

    // Runs c on x (NHWC), updates H, W; `out(h, w, c)` gives the output buffer.
    template <class Out>
    Tensor conv(Ops& ops, const Tensor& x, const Conv& c, Activation act, int64_t& H, int64_t& W, Out&& out) {
        const int64_t Ho = conv_out(H, c.k, c.stride, c.pad), Wo = conv_out(W, c.k, c.stride, c.pad);
        Tensor y = out(Ho, Wo, c.out);
        if (c.pointwise) {
            LinearOpts o;
            o.bias = &c.b;
            o.act = act;
            ops.linear(rows(x, x.dim(3)), c.w, rows(y, c.out), o);
        } else {
            Conv2dOpts o;
            o.stride = int(c.stride), o.pad = int(c.pad), o.groups = int(c.groups);
            o.bias = &c.b;
            o.act = act;
            ops.conv2d(x, c.w, y, o);
        }
        H = Ho, W = Wo;
        return y;
    }

    // Weights are named after timm's modules (the precision policy and `--keep-float` see these).
    Conv prepare_conv(const FoldedConv& f, const std::string& name) {
        Conv c;
        const Shape& s = f.w.view.shape;  // [O, Ig, k, k]
        c.out = s[0], c.k = s[2], c.stride = f.stride, c.pad = f.pad, c.groups = f.groups;
        c.pointwise = c.k == 1 && c.stride == 1 && c.groups == 1 && c.pad == 0;
        if (c.pointwise) {
            HostTensor w = f.w;
            w.view.shape = {s[0], s[1]};
            c.w = prep_.linear(name + ".weight", w);
        } else {
            c.w = prep_.conv(name + ".weight", f.w);
        }
        c.b = prep_.param(name + ".bias", f.b);
        return c;
    }
    Tensor lin(const std::string& name, const HostTensor& t) { return prep_.linear(name + ".weight", t); }
    Tensor par(const std::string& name, const HostTensor& t) { return prep_.param(name + ".bias", t); }

    void prepare(const FastVitWeights& w) {
        for (int i = 0; i < 3; ++i) stem_[i] = prepare_conv(w.stem[i], "stem." + std::to_string(i));
        for (size_t si = 0; si < w.stages.size(); ++si) {
            const FastVitStageWeights& sw = w.stages[si];
            const FastVitStageConfig& sc = cfg_.stages[si];
            const std::string P = "stages." + std::to_string(si) + ".";
            Stage st;
            st.dim = sc.dim;
            st.hidden = sc.mlp_hidden;
            st.downsample = sw.downsample;
            st.pos = sw.pos;
            if (sw.downsample) {
                st.down_conv = prepare_conv(sw.down_conv, P + "downsample.proj.0");
                st.down_proj = prepare_conv(sw.down_proj, P + "downsample.proj.1");
            }
            if (sw.pos) st.pos_conv = prepare_conv(sw.pos_conv, P + "pos_emb.pos_enc");
            for (const FastVitBlockWeights& bw : sw.blocks) {
                const std::string B = P + "blocks." + std::to_string(st.blocks.size()) + ".";
                Block b;
                b.attention = bw.attention;
                if (bw.attention) {
                    check(sc.dim % cfg_.head_dim == 0, "FastViT stage " + std::to_string(si) + " width " +
                                                           std::to_string(sc.dim) + " is not a multiple of the head dim 32");
                    b.qkv_w = lin(B + "token_mixer.qkv", bw.qkv_w), b.qkv_b = par(B + "token_mixer.qkv", bw.qkv_b);
                    b.proj_w = lin(B + "token_mixer.proj", bw.proj_w), b.proj_b = par(B + "token_mixer.proj", bw.proj_b);
                } else {
                    b.mixer = prepare_conv(bw.mixer, B + "token_mixer");
                }
                b.mlp_conv = prepare_conv(bw.mlp_conv, B + "mlp.conv");
                b.fc1_w = lin(B + "mlp.fc1", bw.fc1_w), b.fc1_b = par(B + "mlp.fc1", bw.fc1_b);
                b.fc2_w = lin(B + "mlp.fc2", bw.fc2_w), b.fc2_b = par(B + "mlp.fc2", bw.fc2_b);
                st.blocks.push_back(std::move(b));
            }
            stages_.push_back(std::move(st));
            stage_names_.push_back("stage" + std::to_string(si));
        }
        final_ = prepare_conv(w.final_conv, "final_conv");
        se_fc1_w_ = lin("final_conv.se.reduce", w.se_fc1_w), se_fc1_b_ = par("final_conv.se.reduce", w.se_fc1_b);
        se_fc2_w_ = lin("final_conv.se.expand", w.se_fc2_w), se_fc2_b_ = par("final_conv.se.expand", w.se_fc2_b);
        if (cfg_.num_classes) head_w_ = lin("head.fc", w.head_w), head_b_ = par("head.fc", w.head_b);
        attn_scale_ = float(1.0 / std::sqrt(double(cfg_.head_dim)));
    }

    // Largest per-image activation (any NHWC map, including the image itself) and hidden buffer.
    void size_buffers() {
        const FastVitGeometry g = fastvit_geometry(cfg_, img_h_, img_w_);
        max_act_ = g.max_activation;
        final_h_ = g.final_grid.h, final_w_ = g.final_grid.w;
        max_hidden_ = g.max_hidden;
        // Images per chunk: a chunk's largest activations within ~2 MiB (about the L2 cache of two
        // cores), at least one image. At 256x256 that is one image for every variant: batch 8
        // measured as fast as whole-batch ops here (bench/fastvit.md), and the arena no longer
        // grows with the batch (t8 at batch 64: 12 MB instead of ~750 MB).
        const int64_t per_image = 4 * (max_act_ + max_hidden_);
        chunk_ = std::max<int64_t>(1, (int64_t(2) << 20) / per_image);
    }

    FastVitConfig cfg_;
    WeightPreparer& prep_;
    int64_t img_h_, img_w_;
    ModelDescription desc_;
    FastVitStageHook hook_;

    Conv stem_[3];
    std::vector<Stage> stages_;
    std::vector<std::string> stage_names_;
    Conv final_;
    Tensor se_fc1_w_, se_fc1_b_, se_fc2_w_, se_fc2_b_, head_w_, head_b_;
    float attn_scale_ = 1.f;
    int64_t max_act_ = 0, max_hidden_ = 0, chunk_ = 1, final_h_ = 0, final_w_ = 0;
};

}  // namespace

std::unique_ptr<Model> make_fastvit(const FastVitConfig& cfg, FastVitWeights weights, WeightPreparer& prep, int64_t image_h,
                                    int64_t image_w, ModelDescription desc) {
    return std::make_unique<FastVit>(cfg, std::move(weights), prep, image_h, image_w, std::move(desc));
}

bool set_fastvit_stage_hook(Model& model, FastVitStageHook hook) {
    auto* m = dynamic_cast<FastVit*>(&model);
    if (!m) return false;
    m->set_hook(std::move(hook));
    return true;
}

}  // namespace vitrt
