// FastViT configuration from tensor names and shapes (either checkpoint form) plus the hints that
// came with the checkpoint.
#include "load/fastvit_resolve.hpp"

#include <cmath>
#include <optional>
#include <set>
#include <sstream>

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

std::string source_of(const FastVitHints& h, const char* key) {
    auto it = h.arg_sources.find(key);
    return it != h.arg_sources.end() ? it->second : std::string("model argument ") + key;
}

// A model arg of four numbers (layers, embed_dims, mlp_ratios), type-checked; nullopt when absent.
std::optional<std::vector<double>> four(const FastVitHints& h, const char* key, bool integers) {
    const auto& a = h.model_args;
    if (!a.is_object() || !a.contains(key) || a[key].is_null()) return std::nullopt;
    const auto& v = a[key];
    bool ok = v.is_array() && v.size() == 4;
    for (size_t i = 0; ok && i < 4; ++i)
        ok = integers ? v[i].is_number_integer() && v[i].get<int64_t>() >= 0 && v[i].get<int64_t>() <= (int64_t(1) << 31)
                      : v[i].is_number() && std::isfinite(v[i].get<double>()) && v[i].get<double>() >= 0;
    check(ok, source_of(h, key) + " must be four " + (integers ? "non-negative integers" : "non-negative numbers") +
                  ", got " + v.dump());
    std::vector<double> r;
    for (const auto& e : v) r.push_back(e.get<double>());
    return r;
}

std::string list(const std::vector<int64_t>& v) { return "[" + fastvit_list(v) + "]"; }

// The first thing the registered variant (with its model args) states that the tensors
// contradict: the field, both values and where each came from; nullopt when all agree.
std::optional<std::string> contradiction(const FastVitConfig& c, const FastVitVariant& v, const FastVitHints& h) {
    const std::string reg = "registry " + std::string(v.name) + ", named by " + h.name_source;
    std::vector<int64_t> layers(v.layers, v.layers + 4), dims(v.dims, v.dims + 4);
    std::vector<double> mlp(4, v.mlp_ratio);
    std::string layers_src = reg, dims_src = reg, mlp_src = reg;
    if (auto a = four(h, "layers", true)) layers.assign(a->begin(), a->end()), layers_src = source_of(h, "layers");
    if (auto a = four(h, "embed_dims", true)) dims.assign(a->begin(), a->end()), dims_src = source_of(h, "embed_dims");
    if (auto a = four(h, "mlp_ratios", false)) mlp = *a, mlp_src = source_of(h, "mlp_ratios");
    std::vector<int64_t> seen_layers, seen_dims;
    for (const auto& st : c.stages) seen_layers.push_back(st.depth), seen_dims.push_back(st.dim);
    auto differs = [](const std::string& field, const std::string& stated, const std::string& source,
                      const std::string& in_weights) {
        return field + " is " + stated + " in " + source + ", but the checkpoint has " + in_weights;
    };
    if (c.stages.size() != 4)
        return differs("the number of stages", "4", reg, std::to_string(c.stages.size()) + " (stages.N)");
    if (seen_layers != layers) return differs("layers", list(layers), layers_src, list(seen_layers) + " (stages.N.blocks)");
    if (seen_dims != dims) return differs("embed_dims", list(dims), dims_src, list(seen_dims));
    for (size_t i = 0; i < 4; ++i) {
        const FastVitStageConfig& st = c.stages[i];
        const bool attn = v.attention_last && i == 3;
        const std::string P = "stages." + std::to_string(i);
        if (st.depth > 0 && st.attention != attn)
            return differs("the token mixer of stage " + std::to_string(i), attn ? "attention" : "RepMixer", reg,
                           st.attention ? "attention (" + P + ".blocks.0.token_mixer.qkv)" : "RepMixer");
        if ((st.pos_kernel != 0) != attn)
            return differs("the conditional positional encoding of stage " + std::to_string(i), attn ? "present" : "absent",
                           reg, st.pos_kernel ? P + ".pos_emb" : "none");
        if (st.depth > 0 && std::fabs(double(st.mlp_hidden) - double(st.dim) * mlp[i]) >= 1.0) {
            std::ostringstream r;
            r << mlp[i];
            return differs("mlp_ratios[" + std::to_string(i) + "]", r.str(), mlp_src,
                           "an MLP width of " + std::to_string(st.mlp_hidden) + " at width " + std::to_string(st.dim) + " (" +
                               P + ".blocks.0.mlp.fc1)");
        }
    }
    return std::nullopt;
}

bool matches(const FastVitConfig& c, const FastVitVariant& v) {
    FastVitHints none;
    none.model_args = nlohmann::json::object();
    return !contradiction(c, v, none);
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

    // Cross-check with the registry and the model args: a contradiction is refused, unless the
    // name was only guessed from the path.
    if (const auto& a = hints.model_args; a.is_object() && a.contains("num_classes") && !a["num_classes"].is_null()) {
        const auto& n = a["num_classes"];
        check(n.is_number_integer() && n.get<int64_t>() >= 0, source_of(hints, "num_classes") +
                                                                  " must be a non-negative integer, got " + n.dump());
        check(n.get<int64_t>() == c.num_classes,
              "architecture contradicts the weights: num_classes is " + n.dump() + " in " + source_of(hints, "num_classes") +
                  ", but the checkpoint has " +
                  (c.num_classes ? std::to_string(c.num_classes) + " (head.fc.weight)" : "no head.fc.weight (features only)"));
    }
    if (auto v = lookup_fastvit(c.name)) {
        if (auto why = contradiction(c, *v, hints)) {
            check(hints.name_from_path,
                  "architecture contradicts the weights: " + *why + "; " +
                      (hints.name_source == "--arch"
                           ? "pass the --arch that matches these weights, or none (the tensors decide)"
                           : "the checkpoint does not match its name or config: fix the config, or override the name with "
                             "--arch NAME"));
            notes.push_back("architecture name from " + hints.name_source + " ignored: " + *why);
            c.name.clear();
        }
    } else if (!c.name.empty()) {
        notes.push_back("'" + c.name + "' is not a registered FastViT variant: configured from the checkpoint");
    }
    if (c.name.empty()) {
        for (const auto& v : fastvit_variants()) {
            if (matches(c, v)) {
                c.name = v.name;
                notes.push_back("architecture recognised from the tensor shapes as " + c.name);
                break;
            }
        }
    }
    return c;
}

}  // namespace vitrt
