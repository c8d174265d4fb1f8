// Resolving a ViT's hyper-parameters: shapes decide what they can (widths, depth, tokens, which
// optional parts exist); names and configs decide the rest (heads, pooling, resolution when the
// grid is not square), and every guess is written to the notes.
#include "load/vit_resolve.hpp"

#include "models/registry/registry.hpp"

#include <cmath>

namespace vitrt {
namespace {

bool has(const std::map<std::string, Shape>& s, const std::string& k) { return s.count(k) != 0; }

int64_t isqrt_exact(int64_t n) {
    if (n <= 0) return -1;
    const auto r = int64_t(std::llround(std::sqrt(double(n))));
    return r * r == n ? r : -1;
}

template <class T>
bool arg(const nlohmann::json& a, const char* key, T& out) {
    if (!a.is_object() || !a.contains(key) || a[key].is_null()) return false;
    try {
        out = a[key].get<T>();
    } catch (const std::exception& e) {
        throw Error(std::string("model argument '") + key + "' has the wrong type: " + a[key].dump());
    }
    return true;
}

}  // namespace

VitConfig resolve_vit_config(const std::map<std::string, Shape>& s, VitHints& hints) {
    VitConfig c;
    std::optional<TimmVitEntry> reg;
    if (!hints.name.empty()) {
        reg = lookup_timm_vit(hints.name);
        if (reg) c = reg->config;
        else hints.notes.push_back("architecture name '" + hints.name + "' is not a registered timm ViT; configured from the tensors");
    }
    c.name = hints.name;
    const nlohmann::json& a = hints.model_args;

    auto shape = [&](const std::string& k) -> const Shape& {
        auto it = s.find(k);
        check(it != s.end(), "not a ViT checkpoint: tensor '" + k + "' is missing");
        return it->second;
    };
    const Shape& pw = shape("patch_embed.proj.weight");
    check(pw.size() == 4 && pw[2] == pw[3] && pw[0] > 0 && pw[1] > 0 && pw[2] > 0,
          "patch_embed.proj.weight must be [D, C, P, P], got " + shape_str(pw));
    c.embed_dim = pw[0];
    c.in_chans = pw[1];
    c.patch = pw[2];
    c.patch_bias = has(s, "patch_embed.proj.bias");

    c.depth = 0;
    while (has(s, "blocks." + std::to_string(c.depth) + ".norm1.weight")) ++c.depth;
    check(c.depth > 0, "not a ViT checkpoint: no blocks.0.norm1.weight");
    const Shape& fc1 = shape("blocks.0.mlp.fc1.weight");
    check(fc1.size() == 2, "blocks.0.mlp.fc1.weight must be 2-D, got " + shape_str(fc1));
    c.mlp_hidden = fc1[0];
    c.qkv_bias = has(s, "blocks.0.attn.qkv.bias");
    c.layer_scale = has(s, "blocks.0.ls1.gamma");
    c.class_token = has(s, "cls_token");
    c.dist_token = has(s, "dist_token");
    c.reg_tokens = has(s, "reg_token") ? shape("reg_token").at(1) : 0;
    c.pre_norm = has(s, "norm_pre.weight");
    c.final_norm = has(s, "norm.weight");
    c.fc_norm = has(s, "fc_norm.weight");
    c.num_classes = has(s, "head.weight") ? shape("head.weight").at(0) : 0;

    // Heads: not visible in any shape.
    int64_t heads = 0;
    if (arg(a, "num_heads", heads)) {
        c.heads = heads;
    } else if (!reg) {
        c.heads = c.embed_dim == 1280 ? 16 : c.embed_dim / 64;  // ViT-H uses head_dim 80, the rest 64
        hints.notes.push_back("number of heads not given by any name or config: assumed " + std::to_string(c.heads) +
                              " (pass --arch NAME if this is wrong)");
    }
    check(c.heads > 0 && c.embed_dim % c.heads == 0,
          "embed dim " + std::to_string(c.embed_dim) + " is not divisible by " + std::to_string(c.heads) + " heads");

    // Tokens and resolution from the position embedding.
    const Shape& pe = shape("pos_embed");
    check(pe.size() == 3 && pe[0] == 1 && pe[2] == c.embed_dim, "pos_embed must be [1, L, D], got " + shape_str(pe));
    const int64_t L = pe[1], Pf = c.num_prefix_tokens();
    bool no_embed_class = c.no_embed_class;
    if (!arg(a, "no_embed_class", no_embed_class) && !reg) {
        no_embed_class = Pf > 0 && isqrt_exact(L - Pf) < 0 && isqrt_exact(L) > 0;
    }
    c.no_embed_class = no_embed_class;
    const int64_t grid_tokens = c.no_embed_class ? L : L - Pf;
    nlohmann::json img = nullptr;
    if (a.is_object() && a.contains("img_size")) img = a["img_size"];
    if (img.is_number_integer()) {
        c.img_h = c.img_w = img.get<int64_t>();
    } else if (img.is_array() && img.size() == 2) {
        c.img_h = img[0].get<int64_t>();
        c.img_w = img[1].get<int64_t>();
    } else {
        const int64_t g = isqrt_exact(grid_tokens);
        if (g > 0 && (!reg || (c.img_h / c.patch) * (c.img_w / c.patch) != grid_tokens)) c.img_h = c.img_w = g * c.patch;
    }
    check((c.img_h / c.patch) * (c.img_w / c.patch) == grid_tokens,
          "pos_embed has " + std::to_string(L) + " rows, which does not fit " + std::to_string(Pf) +
              " prefix token(s) and a grid of " + std::to_string(c.img_h / c.patch) + "x" +
              std::to_string(c.img_w / c.patch) + " patches");

    std::string pool_arg;
    if (hints.global_pool) c.global_pool = *hints.global_pool;
    else if (arg(a, "global_pool", pool_arg) && !pool_arg.empty()) c.global_pool = parse_global_pool(pool_arg);
    else if (!reg) c.global_pool = (c.fc_norm || !c.class_token) ? GlobalPool::avg : GlobalPool::token;
    check(c.global_pool != GlobalPool::token || c.class_token, "global_pool 'token' needs a class token, and this checkpoint has none");
    check(!c.dist_token || has(s, "head_dist.weight") || c.num_classes == 0,
          "distillation token without head_dist: not a timm DeiT-distilled checkpoint");
    double eps_arg = 0;
    if (arg(a, "layer_norm_eps", eps_arg)) c.eps = float(eps_arg);
    if (hints.eps) c.eps = *hints.eps;
    return c;
}

}  // namespace vitrt
