// FastViT load-time reparameterization (see fastvit_reparam.hpp); arithmetic in double, one
// rounding to f32 at the end. Reference: timm/models/fastvit.py (MobileOneBlock._get_kernel_bias,
// ReparamLargeKernelConv.get_kernel_bias, RepMixer.reparameterize, RepConditionalPosEnc.reparameterize).
#include "models/fastvit_reparam.hpp"

#include "io/weight_reader.hpp"

#include <cmath>
#include <set>

namespace vitrt {
namespace {

// A convolution kernel and bias in double: w [O, Ig, k, k], b [O].
struct DConv {
    int64_t O = 0, Ig = 0, k = 0;
    std::vector<double> w, b;
    static DConv zeros(int64_t O, int64_t Ig, int64_t k) {
        DConv c;
        c.O = O, c.Ig = Ig, c.k = k;
        c.w.assign(size_t(O * Ig * k * k), 0.0);
        c.b.assign(size_t(O), 0.0);
        return c;
    }
    double& at(int64_t o, int64_t i, int64_t y, int64_t x) { return w[size_t(((o * Ig + i) * k + y) * k + x)]; }
    // this += other, the smaller kernel centred (timm pads it with (k - k_small) / 2 zeros per side).
    void add(const DConv& o) {
        const int64_t off = (k - o.k) / 2;
        for (int64_t a = 0; a < O; ++a) {
            b[size_t(a)] += o.b[size_t(a)];
            for (int64_t i = 0; i < Ig; ++i)
                for (int64_t y = 0; y < o.k; ++y)
                    for (int64_t x = 0; x < o.k; ++x)
                        at(a, i, y + off, x + off) += o.w[size_t(((a * Ig + i) * o.k + y) * o.k + x)];
        }
    }
};

class Folder {
public:
    Folder(const FastVitConfig& cfg, const std::map<std::string, HostTensor>& t, FastVitWeights& out)
        : cfg_(cfg), r_(t, "FastViT"), out_(out) {}

    bool has(const std::string& n) const { return r_.has(n); }
    bool has_prefix(const std::string& p) const { return r_.has_prefix(p); }

    std::vector<double> need(const std::string& n, const Shape& shape, const std::string& what) {
        const HostTensor& t = r_.need(n, shape, what);
        std::vector<double> v;
        {
            const HostTensor f = to_f32(t);
            v.assign(f.f32(), f.f32() + f.view.numel());
        }
        release_host_pages(t);  // copied: the checkpoint's pages can leave memory
        return v;
    }

    // Inference BatchNorm as y = x * scale + shift.
    struct BN {
        std::vector<double> scale, shift;
    };
    BN bn(const std::string& p, int64_t C, const std::string& what) {
        const Shape s{C};
        const auto g = need(p + ".weight", s, what), be = need(p + ".bias", s, what);
        const auto m = need(p + ".running_mean", s, what), v = need(p + ".running_var", s, what);
        BN r;
        for (int64_t c = 0; c < C; ++c) {
            check(v[size_t(c)] >= 0, "FastViT tensor '" + p + ".running_var' has a negative variance at channel " +
                                         std::to_string(c));
            const double t = g[size_t(c)] / std::sqrt(v[size_t(c)] + cfg_.bn_eps);
            r.scale.push_back(t);
            r.shift.push_back(be[size_t(c)] - m[size_t(c)] * t);
        }
        return r;
    }

    // ConvNormAct without activation: BN(conv(x)) as one conv.
    DConv conv_bn(const std::string& p, int64_t O, int64_t Ig, int64_t k, const std::string& what, int& bn_counter) {
        DConv c = DConv::zeros(O, Ig, k);
        c.w = need(p + ".conv.weight", {O, Ig, k, k}, what);
        const BN n = bn(p + ".bn", O, what);
        ++bn_counter;
        for (int64_t o = 0; o < O; ++o) {
            for (int64_t i = 0; i < Ig * k * k; ++i) c.w[size_t(o * Ig * k * k + i)] *= n.scale[size_t(o)];
            c.b[size_t(o)] = n.shift[size_t(o)];
        }
        return c;
    }

    // A standalone BatchNorm as a conv: identity kernel (channel c reads input c % Ig of its group).
    DConv identity_bn(const std::string& p, int64_t C, int64_t Ig, int64_t k, const std::string& what) {
        DConv c = DConv::zeros(C, Ig, k);
        const BN n = bn(p, C, what);
        ++out_.branch_batchnorms;
        for (int64_t o = 0; o < C; ++o) {
            c.at(o, o % Ig, k / 2, k / 2) = n.scale[size_t(o)];
            c.b[size_t(o)] = n.shift[size_t(o)];
        }
        return c;
    }

    // timm's reparam_conv of a module, when the checkpoint has it.
    bool reparam(const std::string& p, int64_t O, int64_t Ig, int64_t k, DConv& c) {
        if (!has(p + ".reparam_conv.weight") && !has(p + ".reparam_conv.bias")) return false;
        c = DConv::zeros(O, Ig, k);
        c.w = need(p + ".reparam_conv.weight", {O, Ig, k, k}, p + " (reparameterized)");
        c.b = need(p + ".reparam_conv.bias", {O}, p + " (reparameterized)");
        ++out_.reparam_modules;
        return true;
    }

    // MobileOneBlock(in, out, k, stride, groups), without its activation and SE.
    // `part`: folded as part of an enclosing module (RepMixer's mixer and norm), not counted alone.
    DConv mobileone(const std::string& p, int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups,
                    bool scale_branch, int min_kxk, bool part = false) {
        const int64_t Ig = in / groups;
        DConv c;
        if (!part && reparam(p, out, Ig, k, c)) return c;
        c = DConv::zeros(out, Ig, k);
        int n = 0;
        for (; has_prefix(p + ".conv_kxk." + std::to_string(n) + "."); ++n) {
            c.add(conv_bn(p + ".conv_kxk." + std::to_string(n), out, Ig, k, p + " conv branch " + std::to_string(n),
                          out_.branch_batchnorms));
            ++out_.branches;
        }
        if (n < min_kxk) need(p + ".conv_kxk.0.conv.weight", {out, Ig, k, k}, p + " conv branch");  // throws
        if (k > 1 && scale_branch) {
            c.add(conv_bn(p + ".conv_scale", out, Ig, 1, p + " 1x1 scale branch", out_.branch_batchnorms));
            ++out_.branches;
        }
        if (in == out && stride == 1) {
            c.add(identity_bn(p + ".identity", out, Ig, k, p + " identity (BatchNorm) branch"));
            ++out_.branches;
        }
        if (!part) ++out_.train_modules;
        return c;
    }

    FoldedConv finish(const DConv& c, int64_t groups, int64_t stride) {
        FoldedConv f;
        f.w = HostTensor::zeros_f32({c.O, c.Ig, c.k, c.k});
        f.b = HostTensor::zeros_f32({c.O});
        for (size_t i = 0; i < c.w.size(); ++i) f.w.mutable_f32()[i] = float(c.w[i]);
        for (size_t i = 0; i < c.b.size(); ++i) f.b.mutable_f32()[i] = float(c.b[i]);
        f.groups = groups, f.stride = stride, f.pad = c.k / 2;
        return f;
    }

    HostTensor tensor(const std::string& n, const Shape& file_shape, const Shape& as, const std::string& what) {
        const auto v = need(n, file_shape, what);
        HostTensor h = HostTensor::zeros_f32(as);
        for (size_t i = 0; i < v.size(); ++i) h.mutable_f32()[i] = float(v[i]);
        return h;
    }

    // A linear layer [N, K] (+ bias) followed by a LayerScale gamma [N, 1, 1], when present:
    // gamma * (W x + b) = (diag(gamma) W) x + gamma b, so the backend sees a plain linear.
    void scaled_linear(const std::string& p, int64_t N, int64_t K, const Shape& file_shape, const std::string& gamma,
                       const std::string& what, HostTensor& w, HostTensor& b, FastVitWeights& out) {
        const auto wv = need(p + ".weight", file_shape, what);
        const auto bv = need(p + ".bias", {N}, what + " bias");
        std::vector<double> g(size_t(N), 1.0);
        if (has(gamma)) {
            g = need(gamma, {N, 1, 1}, "layer scale");
            ++out.layer_scales;
        }
        w = HostTensor::zeros_f32({N, K});
        b = HostTensor::zeros_f32({N});
        for (int64_t n = 0; n < N; ++n) {
            for (int64_t k = 0; k < K; ++k) w.mutable_f32()[n * K + k] = float(g[size_t(n)] * wv[size_t(n * K + k)]);
            b.mutable_f32()[n] = float(g[size_t(n)] * bv[size_t(n)]);
        }
    }

    void check_all_used() const {
        r_.check_all_used("the configuration read from the checkpoint does not use them (an unsupported FastViT "
                          "feature, or a tensor whose module lost its other tensors)");
    }

private:
    const FastVitConfig& cfg_;
    WeightReader r_;
    FastVitWeights& out_;
};

FastVitBlockWeights fold_block(Folder& F, const FastVitStageConfig& st, const std::string& p, FastVitWeights& out) {
    const int64_t D = st.dim, Hd = st.mlp_hidden;
    FastVitBlockWeights b;
    b.attention = st.attention;
    if (!st.attention) {
        const std::string tm = p + "token_mixer";
        const int64_t k = st.mixer_kernel;
        DConv mix;
        if (!F.reparam(tm, D, 1, k, mix)) {
            const DConv m = F.mobileone(tm + ".mixer", D, D, k, 1, D, true, 1, true);
            const DConv n = F.mobileone(tm + ".norm", D, D, k, 1, D, false, 0, true);
            std::vector<double> gamma(size_t(D), 1.0);
            if (F.has(tm + ".layer_scale.gamma")) gamma = F.need(tm + ".layer_scale.gamma", {D, 1, 1}, "RepMixer layer scale");
            mix = DConv::zeros(D, 1, k);
            for (int64_t c = 0; c < D; ++c) {
                for (int64_t i = 0; i < k * k; ++i)
                    mix.w[size_t(c * k * k + i)] = gamma[size_t(c)] * (m.w[size_t(c * k * k + i)] - n.w[size_t(c * k * k + i)]);
                mix.at(c, 0, k / 2, k / 2) += 1.0;  // the residual x
                mix.b[size_t(c)] = gamma[size_t(c)] * (m.b[size_t(c)] - n.b[size_t(c)]);
            }
            out.branches += 3;  // x, mixer(x), -norm(x)
            ++out.train_modules;
        }
        b.mixer = F.finish(mix, D, 1);
    } else {
        // norm (BatchNorm2d) then qkv (no bias): qkv(x * s + t) = (W diag(s)) x + W t.
        const Folder::BN n = F.bn(p + "norm", D, "attention BatchNorm");
        ++out.attn_batchnorms;
        const auto w = F.need(p + "token_mixer.qkv.weight", {3 * D, D}, "attention qkv");
        check(!F.has(p + "token_mixer.qkv.bias"), "FastViT tensor '" + p + "token_mixer.qkv.bias': qkv_bias is not "
                                                  "supported (timm's FastViT attention has none)");
        b.qkv_w = HostTensor::zeros_f32({3 * D, D});
        b.qkv_b = HostTensor::zeros_f32({3 * D});
        for (int64_t r = 0; r < 3 * D; ++r) {
            double acc = 0;
            for (int64_t c = 0; c < D; ++c) {
                b.qkv_w.mutable_f32()[r * D + c] = float(w[size_t(r * D + c)] * n.scale[size_t(c)]);
                acc += w[size_t(r * D + c)] * n.shift[size_t(c)];
            }
            b.qkv_b.mutable_f32()[r] = float(acc);
        }
        F.scaled_linear(p + "token_mixer.proj", D, D, {D, D}, p + "layer_scale_1.gamma", "attention proj", b.proj_w,
                        b.proj_b, out);
    }
    {
        const int64_t k = st.mlp_kernel;
        const DConv c = F.conv_bn(p + "mlp.conv", D, 1, k, "ConvFFN depthwise conv", out.mlp_batchnorms);
        b.mlp_conv = F.finish(c, D, 1);
    }
    b.fc1_w = F.tensor(p + "mlp.fc1.weight", {Hd, D, 1, 1}, {Hd, D}, "ConvFFN fc1");
    b.fc1_b = F.tensor(p + "mlp.fc1.bias", {Hd}, {Hd}, "ConvFFN fc1 bias");
    F.scaled_linear(p + "mlp.fc2", D, Hd, {D, Hd, 1, 1}, p + (st.attention ? "layer_scale_2.gamma" : "layer_scale.gamma"),
                    "ConvFFN fc2", b.fc2_w, b.fc2_b, out);
    return b;
}

}  // namespace

FastVitWeights fold_fastvit(const FastVitConfig& cfg, const std::map<std::string, HostTensor>& tensors) {
    FastVitWeights out;
    Folder F(cfg, tensors, out);
    const int64_t C0 = cfg.stem_dim;
    out.stem[0] = F.finish(F.mobileone("stem.0", cfg.in_chans, C0, 3, 2, 1, true, 1), 1, 2);
    out.stem[1] = F.finish(F.mobileone("stem.1", C0, C0, 3, 2, C0, true, 1), C0, 2);
    out.stem[2] = F.finish(F.mobileone("stem.2", C0, C0, 1, 1, 1, true, 1), 1, 1);
    int64_t prev = C0;
    for (size_t i = 0; i < cfg.stages.size(); ++i) {
        const FastVitStageConfig& st = cfg.stages[i];
        const std::string P = "stages." + std::to_string(i) + ".";
        FastVitStageWeights sw;
        sw.downsample = st.downsample;
        if (st.downsample) {
            check(st.dim % prev == 0, "FastViT stage " + std::to_string(i) + " downsamples " + std::to_string(prev) +
                                          " to " + std::to_string(st.dim) + " channels: not a whole channel multiplier");
            const std::string lk = P + "downsample.proj.0";
            const int64_t k = st.down_kernel;
            DConv c;
            if (!F.reparam(lk, st.dim, 1, k, c)) {
                c = F.conv_bn(lk + ".large_conv", st.dim, 1, k, lk + " large kernel branch", out.branch_batchnorms);
                c.add(F.conv_bn(lk + ".small_conv", st.dim, 1, 3, lk + " small kernel branch", out.branch_batchnorms));
                out.branches += 2;
                ++out.train_modules;
            }
            sw.down_conv = F.finish(c, prev, cfg.down_stride);
            sw.down_proj = F.finish(F.mobileone(P + "downsample.proj.1", st.dim, st.dim, 1, 1, 1, true, 1), 1, 1);
        }
        if (st.pos_kernel) {
            const std::string pe = P + "pos_emb";
            const int64_t k = st.pos_kernel;
            DConv c;
            if (!F.reparam(pe, st.dim, 1, k, c)) {
                c = DConv::zeros(st.dim, 1, k);
                c.w = F.need(pe + ".pos_enc.weight", {st.dim, 1, k, k}, "conditional positional encoding");
                c.b = F.need(pe + ".pos_enc.bias", {st.dim}, "conditional positional encoding bias");
                for (int64_t ch = 0; ch < st.dim; ++ch) c.at(ch, 0, k / 2, k / 2) += 1.0;  // x + pos_enc(x)
                out.branches += 2;
                ++out.train_modules;
            }
            sw.pos = true;
            sw.pos_conv = F.finish(c, st.dim, 1);
        }
        for (int64_t j = 0; j < st.depth; ++j)
            sw.blocks.push_back(fold_block(F, st, P + "blocks." + std::to_string(j) + ".", out));
        prev = st.dim;
        out.stages.push_back(std::move(sw));
    }
    const int64_t Fd = cfg.num_features, R = cfg.se_hidden;
    check(Fd % prev == 0, "FastViT final_conv maps " + std::to_string(prev) + " to " + std::to_string(Fd) +
                              " channels: not a whole channel multiplier");
    out.final_conv = F.finish(F.mobileone("final_conv", prev, Fd, 3, 1, prev, true, 1), prev, 1);
    out.se_fc1_w = F.tensor("final_conv.se.fc1.weight", {R, Fd, 1, 1}, {R, Fd}, "squeeze-excite reduce");
    out.se_fc1_b = F.tensor("final_conv.se.fc1.bias", {R}, {R}, "squeeze-excite reduce bias");
    out.se_fc2_w = F.tensor("final_conv.se.fc2.weight", {Fd, R, 1, 1}, {Fd, R}, "squeeze-excite expand");
    out.se_fc2_b = F.tensor("final_conv.se.fc2.bias", {Fd}, {Fd}, "squeeze-excite expand bias");
    if (cfg.num_classes) {
        out.head_w = F.tensor("head.fc.weight", {cfg.num_classes, Fd}, {cfg.num_classes, Fd}, "classifier");
        out.head_b = F.tensor("head.fc.bias", {cfg.num_classes}, {cfg.num_classes}, "classifier bias");
    }
    F.check_all_used();
    return out;
}

}  // namespace vitrt
