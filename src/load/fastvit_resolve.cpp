// FastViT configuration from tensor names and shapes (either checkpoint form) plus the hints that
// came with the checkpoint.
#include "load/fastvit_resolve.hpp"

#include <set>

#include "models/registry/registry.hpp"

namespace vitrt {
namespace {

class Shapes {
public:
    explicit Shapes(const std::map<std::string, Shape>& s) : s_(s) {}
    bool has(const std::string& n) const { return s_.count(n) != 0; }
    bool has_prefix(const std::string& p) const {
        auto it = s_.lower_bound(p);
        return it != s_.end() && it->first.compare(0, p.size(), p) == 0;
    }
    // The shape of a rank-`rank` tensor, or an Error naming it and what it is for.
    const Shape& get(const std::string& n, size_t rank, const std::string& what) const {
        auto it = s_.find(n);
        check(it != s_.end(), "FastViT checkpoint is missing tensor '" + n + "' (" + what + ")");
        check(it->second.size() == rank, "FastViT tensor '" + n + "' has shape " + shape_str(it->second) + ", expected " +
                                             std::to_string(rank) + " dims (" + what + ")");
        return it->second;
    }
    // "P.reparam_conv.weight" when the module is reparameterized, else the train-time tensor.
    const Shape& conv(const std::string& module, const std::string& train_name, const std::string& what) const {
        const std::string rep = module + ".reparam_conv.weight";
        return has(rep) ? get(rep, 4, what) : get(module + "." + train_name, 4, what);
    }
    // Number of consecutive indices i with some key starting with prefix + i + ".".
    int64_t count(const std::string& prefix) const {
        int64_t n = 0;
        while (has_prefix(prefix + std::to_string(n) + ".")) ++n;
        // A gap (e.g. blocks 0, 1, 3) is a malformed checkpoint, not a shorter model.
        std::set<int64_t> seen;
        for (auto it = s_.lower_bound(prefix); it != s_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
            const std::string rest = it->first.substr(prefix.size());
            const size_t dot = rest.find('.');
            if (dot == std::string::npos || dot == 0) continue;
            int64_t v = 0;
            bool digits = true;
            for (size_t i = 0; i < dot; ++i) {
                if (rest[i] < '0' || rest[i] > '9') digits = false;
                else v = v * 10 + (rest[i] - '0');
            }
            if (digits && v >= n)
                throw Error("FastViT checkpoint has tensor '" + it->first + "' but no '" + prefix + std::to_string(n) +
                            ".*' tensors: " + prefix + "N must be numbered without gaps");
        }
        return n;
    }

private:
    const std::map<std::string, Shape>& s_;
};

std::vector<int64_t> json_ints(const nlohmann::json& j) {
    std::vector<int64_t> v;
    if (j.is_array())
        for (const auto& e : j)
            if (e.is_number()) v.push_back(e.get<int64_t>());
    return v;
}

// The registered variant with timm create_model kwargs applied (layers, embed_dims, mlp_ratios).
FastVitVariant with_kwargs(FastVitVariant v, const nlohmann::json& args, std::vector<double>& mlp) {
    mlp.assign(4, v.mlp_ratio);
    if (!args.is_object()) return v;
    if (auto l = json_ints(args.value("layers", nlohmann::json())); l.size() == 4)
        for (int i = 0; i < 4; ++i) v.layers[i] = l[size_t(i)];
    if (auto d = json_ints(args.value("embed_dims", nlohmann::json())); d.size() == 4)
        for (int i = 0; i < 4; ++i) v.dims[i] = d[size_t(i)];
    if (args.contains("mlp_ratios") && args["mlp_ratios"].is_array() && args["mlp_ratios"].size() == 4)
        for (size_t i = 0; i < 4; ++i) mlp[i] = args["mlp_ratios"][i].get<double>();
    return v;
}

bool matches(const FastVitConfig& c, const FastVitVariant& v, const std::vector<double>& mlp) {
    if (c.stages.size() != 4 || c.stem_dim != v.dims[0]) return false;
    for (size_t i = 0; i < 4; ++i) {
        const FastVitStageConfig& s = c.stages[i];
        const bool attn = v.attention_last && i == 3;
        if (s.depth != v.layers[i] || s.dim != v.dims[i] || s.attention != attn || (s.pos_kernel != 0) != attn ||
            s.mlp_hidden != int64_t(double(s.dim) * mlp[i]))
            return false;
    }
    return true;
}

}  // namespace

FastVitConfig resolve_fastvit_config(const std::map<std::string, Shape>& shapes, const FastVitHints& hints,
                                     std::vector<std::string>& notes) {
    const Shapes S(shapes);
    FastVitConfig c;
    c.name = hints.name;
    check(c.name.rfind("fastvit_mci", 0) != 0,
          "'" + c.name + "' (MobileCLIP image tower) is not supported: its PatchEmbed activation and squeeze-excite "
          "downsampling are not implemented (supported: fastvit_t8, t12, s12, sa12, sa24, sa36, ma36)");
    {
        const Shape& s = S.conv("stem.0", "conv_kxk.0.conv.weight", "the first stem convolution");
        c.stem_dim = s[0];
        c.in_chans = s[1];
        check(s[2] == 3 && s[3] == 3, "FastViT stem.0 kernel must be 3x3, got " + shape_str(s));
    }
    const int64_t n_stages = S.count("stages.");
    check(n_stages >= 1, "FastViT checkpoint has no 'stages.0.*' tensors");
    int64_t prev = c.stem_dim;
    for (int64_t i = 0; i < n_stages; ++i) {
        const std::string P = "stages." + std::to_string(i) + ".";
        FastVitStageConfig st;
        st.depth = S.count(P + "blocks.");
        st.downsample = S.has_prefix(P + "downsample.");
        check(!S.has_prefix(P + "downsample.proj.0.se."),
              "FastViT tensor '" + P + "downsample.proj.0.se.*': squeeze-excite downsampling (MobileCLIP) is not supported");
        if (st.downsample) {
            const Shape& s = S.conv(P + "downsample.proj.0", "large_conv.conv.weight", "stage " + std::to_string(i) + " downsampling conv");
            st.down_kernel = s[2];
            st.dim = s[0];
            check(s[1] == 1 && s[2] == s[3] && s[2] % 2 == 1,
                  "FastViT tensor for " + P + "downsample.proj.0 has shape " + shape_str(s) + ", expected [" +
                      std::to_string(st.dim) + ", 1, k, k] (k odd)");
        }
        if (st.depth > 0) {
            const std::string B0 = P + "blocks.0.";
            const Shape& fc1 = S.get(B0 + "mlp.fc1.weight", 4, "ConvFFN fc1, [hidden, dim, 1, 1]");
            const int64_t dim = fc1[1];
            check(!st.downsample || dim == st.dim,
                  "FastViT tensor '" + B0 + "mlp.fc1.weight' has shape " + shape_str(fc1) + ": its input width " +
                      std::to_string(dim) + " differs from the stage's downsampling output width " + std::to_string(st.dim));
            st.dim = dim;
            st.mlp_hidden = fc1[0];
            st.mlp_kernel = S.get(B0 + "mlp.conv.conv.weight", 4, "ConvFFN depthwise conv")[2];
            st.attention = S.has(B0 + "token_mixer.qkv.weight");
            if (!st.attention)
                st.mixer_kernel = S.conv(B0 + "token_mixer", "mixer.conv_kxk.0.conv.weight", "RepMixer mixer conv")[2];
            for (int64_t j = 1; j < st.depth; ++j) {
                const std::string Bj = P + "blocks." + std::to_string(j) + ".";
                check(S.has(Bj + "token_mixer.qkv.weight") == st.attention,
                      "FastViT block " + Bj + "token_mixer is " + (st.attention ? "not " : "") +
                          "an attention mixer unlike " + B0 + "token_mixer: one stage mixes block types");
            }
            if (st.attention)
                check(S.has(B0 + "norm.running_mean") || !S.has(B0 + "norm.weight"),
                      "FastViT tensor '" + B0 + "norm.weight' without running statistics: LayerNorm2d attention norms "
                      "(MobileCLIP fastvit_mci3/4) are not supported (BatchNorm2d only)");
        }
        check(st.dim > 0, "FastViT stage " + std::to_string(i) + " has neither blocks nor a downsampling layer");
        check(st.downsample || st.dim == prev,
              "FastViT stage " + std::to_string(i) + " changes the width from " + std::to_string(prev) + " to " +
                  std::to_string(st.dim) + " but has no '" + P + "downsample.*' tensors");
        if (S.has_prefix(P + "pos_emb.")) {
            const Shape& s = S.conv(P + "pos_emb", "pos_enc.weight", "conditional positional encoding");
            st.pos_kernel = s[2];
        }
        prev = st.dim;
        c.stages.push_back(st);
    }
    check(S.has_prefix("final_conv."),
          "FastViT checkpoint has no 'final_conv.*' tensors: feature-pyramid (fork_feat) checkpoints are not supported");
    {
        const Shape& s = S.conv("final_conv", "conv_kxk.0.conv.weight", "final MobileOne conv");
        c.num_features = s[0];
        c.se_hidden = S.get("final_conv.se.fc1.weight", 4, "final conv squeeze-excite reduce, [hidden, features, 1, 1]")[0];
    }
    if (S.has("head.fc.weight")) c.num_classes = S.get("head.fc.weight", 2, "classifier")[0];

    // Cross-check with the registry; the tensors decide.
    if (auto v = lookup_fastvit(c.name)) {
        std::vector<double> mlp;
        const FastVitVariant want = with_kwargs(*v, hints.model_args, mlp);
        if (!matches(c, want, mlp)) {
            std::vector<int64_t> layers, dims;
            for (const auto& s : c.stages) layers.push_back(s.depth), dims.push_back(s.dim);
            notes.push_back("the checkpoint's shapes differ from the registered " + std::string(v->name) + " (layers " +
                            fastvit_list(std::vector<int64_t>(want.layers, want.layers + 4)) + ", dims " +
                            fastvit_list(std::vector<int64_t>(want.dims, want.dims + 4)) + "): configured from the checkpoint (layers " +
                            fastvit_list(layers) + ", dims " + fastvit_list(dims) + ")");
        }
    } else if (!c.name.empty()) {
        notes.push_back("'" + c.name + "' is not a registered FastViT variant: configured from the checkpoint");
    } else {
        for (const auto& v : fastvit_variants()) {
            std::vector<double> mlp(4, v.mlp_ratio);
            if (matches(c, v, mlp)) {
                c.name = v.name;
                notes.push_back("architecture recognised from the tensor shapes as " + c.name);
                break;
            }
        }
    }
    return c;
}

}  // namespace vitrt
