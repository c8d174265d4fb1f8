// Resolving a ViT's hyper-parameters: shapes decide what they can (widths, depth, tokens, which
// optional parts exist); names and configs decide the rest (heads, pooling, resolution when the
// grid is not square), and every guess is written to the notes. What a name or a config states
// and the shapes can confirm is cross-checked first: a 192-wide checkpoint run as vit_base (768
// wide, 12 heads) would otherwise run with the wrong head count and answer nonsense, exit 0.
#include "load/vit_resolve.hpp"

#include <cmath>
#include <sstream>

#include "models/registry/registry.hpp"
#include "vitrt/vitrt.hpp"

namespace vitrt {
namespace {

bool has(const std::map<std::string, Shape>& s, const std::string& k) { return s.count(k) != 0; }

int64_t isqrt_exact(int64_t n) {
    if (n <= 0) return -1;
    const auto r = int64_t(std::llround(std::sqrt(double(n))));
    return r * r == n ? r : -1;
}

template <class T>
struct Claim {
    T value;
    std::string source;  // e.g. "registry vit_base_patch16_224, named by --arch", "config.json model_args.depth"
};

// What the model args and the registry entry state about the hyper-parameters, each with where it
// came from. Model args (timm create_model kwargs) override the registry, as in timm. Each arg is
// type-checked before conversion: a wrong type is a vitrt::Error naming the key and its source.
class Claims {
public:
    Claims(const VitHints& h, const std::optional<TimmVitEntry>& reg) : h_(h), reg_(reg ? &reg->config : nullptr) {}
    const VitConfig* registry() const { return reg_; }
    const VitHints& hints() const { return h_; }

    bool given(const char* key) const {
        const auto& a = h_.model_args;
        return a.is_object() && a.contains(key) && !a[key].is_null();
    }
    const nlohmann::json& arg(const char* key) const { return h_.model_args[key]; }
    std::string arg_source(const char* key) const {
        auto it = h_.arg_sources.find(key);
        return it != h_.arg_sources.end() ? it->second : std::string("model argument ") + key;
    }
    std::string registry_source() const { return "registry " + reg_->name + ", named by " + h_.name_source; }

    std::optional<Claim<int64_t>> integer(const char* key, std::optional<int64_t> in_registry) const {
        if (given(key)) {
            const auto& v = arg(key);
            check(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= (int64_t(1) << 31),
                  arg_source(key) + " must be a non-negative integer, got " + v.dump());
            return Claim<int64_t>{v.get<int64_t>(), arg_source(key)};
        }
        if (reg_ && in_registry) return Claim<int64_t>{*in_registry, registry_source()};
        return std::nullopt;
    }
    std::optional<Claim<bool>> boolean(const char* key, std::optional<bool> in_registry) const {
        if (given(key)) {
            check(arg(key).is_boolean(), arg_source(key) + " must be true or false, got " + arg(key).dump());
            return Claim<bool>{arg(key).get<bool>(), arg_source(key)};
        }
        if (reg_ && in_registry) return Claim<bool>{*in_registry, registry_source()};
        return std::nullopt;
    }
    std::optional<Claim<double>> number(const char* key, std::optional<double> in_registry) const {
        if (given(key)) {
            const auto& v = arg(key);
            check(v.is_number() && std::isfinite(v.get<double>()), arg_source(key) + " must be a finite number, got " + v.dump());
            return Claim<double>{v.get<double>(), arg_source(key)};
        }
        if (reg_ && in_registry) return Claim<double>{*in_registry, registry_source()};
        return std::nullopt;
    }
    std::optional<std::string> string(const char* key) const {
        if (!given(key)) return std::nullopt;
        check(arg(key).is_string(), arg_source(key) + " must be a string, got " + arg(key).dump());
        return arg(key).get<std::string>();
    }

private:
    const VitHints& h_;
    const VitConfig* reg_;
};

std::string yes_no(bool b) { return b ? "true" : "false"; }

// Everything the tensors show by themselves.
VitConfig from_tensors(const std::map<std::string, Shape>& s) {
    auto shape = [&](const std::string& k) -> const Shape& {
        auto it = s.find(k);
        check(it != s.end(), "not a ViT checkpoint: tensor '" + k + "' is missing");
        return it->second;
    };
    VitConfig c;
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
    if (has(s, "reg_token")) {
        const Shape& r = shape("reg_token");
        check(r.size() == 3 && r[0] == 1 && r[2] == c.embed_dim, "reg_token must be [1, R, D], got " + shape_str(r));
        c.reg_tokens = r[1];
    }
    c.pre_norm = has(s, "norm_pre.weight");
    c.final_norm = has(s, "norm.weight");
    c.fc_norm = has(s, "fc_norm.weight");
    if (has(s, "head.weight")) {
        const Shape& h = shape("head.weight");
        check(h.size() == 2, "head.weight must be 2-D, got " + shape_str(h));
        c.num_classes = h[0];
    }
    return c;
}

// The first value stated by the name or the model args that the tensors contradict, as a message
// naming the field, both values and where each came from; nullopt when all agree.
std::optional<std::string> contradiction(const VitConfig& c, const std::map<std::string, Shape>& s, const Claims& k) {
    const VitConfig* r = k.registry();
    auto reg = [&](auto VitConfig::*field) { return r ? std::optional(r->*field) : std::nullopt; };
    auto differs = [](const std::string& field, const std::string& stated, const std::string& source,
                      const std::string& in_weights) {
        return field + " is " + stated + " in " + source + ", but the checkpoint has " + in_weights;
    };
    const std::string patch_w = "patch_embed.proj.weight " + shape_str(s.at("patch_embed.proj.weight"));
    if (auto v = k.integer("patch_size", reg(&VitConfig::patch)); v && v->value != c.patch)
        return differs("patch size", std::to_string(v->value), v->source, std::to_string(c.patch) + " (" + patch_w + ")");
    if (auto v = k.integer("embed_dim", reg(&VitConfig::embed_dim)); v && v->value != c.embed_dim)
        return differs("embed_dim", std::to_string(v->value), v->source, std::to_string(c.embed_dim) + " (" + patch_w + ")");
    if (auto v = k.integer("in_chans", reg(&VitConfig::in_chans)); v && v->value != c.in_chans)
        return differs("in_chans", std::to_string(v->value), v->source, std::to_string(c.in_chans) + " (" + patch_w + ")");
    if (auto v = k.integer("depth", reg(&VitConfig::depth)); v && v->value != c.depth)
        return differs("depth", std::to_string(v->value), v->source,
                       std::to_string(c.depth) + " blocks (blocks.0 to blocks." + std::to_string(c.depth - 1) + ")");
    std::optional<double> reg_ratio;
    if (r) reg_ratio = double(r->mlp_hidden) / double(r->embed_dim);
    if (auto v = k.number("mlp_ratio", reg_ratio); v && std::fabs(double(c.mlp_hidden) - double(c.embed_dim) * v->value) >= 1.0) {
        std::ostringstream ratio;
        ratio << v->value;
        return differs("mlp_ratio", ratio.str(), v->source,
                       "an MLP width of " + std::to_string(c.mlp_hidden) + " at embed_dim " + std::to_string(c.embed_dim) +
                           " (blocks.0.mlp.fc1.weight " + shape_str(s.at("blocks.0.mlp.fc1.weight")) + ")");
    }
    // The head size: not the registry's (fine-tuned heads of any size keep the architecture name).
    if (auto v = k.integer("num_classes", std::nullopt); v && v->value != c.num_classes)
        return differs("num_classes", std::to_string(v->value), v->source,
                       c.num_classes ? std::to_string(c.num_classes) + " (head.weight " + shape_str(s.at("head.weight")) + ")"
                                     : std::string("no head.weight (features only)"));
    if (auto v = k.boolean("class_token", reg(&VitConfig::class_token)); v && v->value != c.class_token)
        return differs("class_token", yes_no(v->value), v->source, c.class_token ? "a cls_token" : "no cls_token");
    if (r && r->dist_token != c.dist_token)
        return differs("the distillation token", r->dist_token ? "present" : "absent", k.registry_source(),
                       c.dist_token ? "a dist_token" : "no dist_token");
    if (auto v = k.integer("reg_tokens", reg(&VitConfig::reg_tokens)); v && v->value != c.reg_tokens)
        return differs("reg_tokens", std::to_string(v->value), v->source, std::to_string(c.reg_tokens) + " (reg_token)");
    if (auto v = k.boolean("qkv_bias", reg(&VitConfig::qkv_bias)); v && v->value != c.qkv_bias)
        return differs("qkv_bias", yes_no(v->value), v->source,
                       c.qkv_bias ? "blocks.0.attn.qkv.bias" : "no blocks.0.attn.qkv.bias");
    // LayerScale: timm's init_values (a number, or null for none).
    std::optional<Claim<bool>> ls;
    if (k.hints().model_args.is_object() && k.hints().model_args.contains("init_values")) {
        const auto& v = k.hints().model_args["init_values"];
        check(v.is_null() || v.is_number(), k.arg_source("init_values") + " must be a number or null, got " + v.dump());
        ls = Claim<bool>{!v.is_null(), k.arg_source("init_values")};
    } else if (r) {
        ls = Claim<bool>{r->layer_scale, k.registry_source()};
    }
    if (ls && ls->value != c.layer_scale)
        return differs("LayerScale (init_values)", ls->value ? "on" : "off", ls->source,
                       c.layer_scale ? "blocks.0.ls1.gamma" : "no blocks.0.ls1.gamma");
    // Heads, where the tensors show them (Google .npz query kernels [D, H, D/H]).
    if (const auto& seen = k.hints().heads_in_weights) {
        if (auto v = k.integer("num_heads", reg(&VitConfig::heads)); v && v->value != *seen)
            return differs("num_heads", std::to_string(v->value), v->source,
                           std::to_string(*seen) + " (its query kernels are [D, " + std::to_string(*seen) + ", D/heads])");
    }
    return std::nullopt;
}

// "the architecture name contradicts the weights: ..." with what to do about it.
std::string refusal(const VitHints& h, const std::string& why) {
    const std::string fix = h.name_source == "--arch"
                                ? "pass the --arch that matches these weights, or none (the tensors and config decide)"
                                : "the checkpoint does not match its name or config: fix the config, or override the name "
                                  "with --arch NAME";
    return "architecture contradicts the weights: " + why + "; " + fix;
}

// A (H, W) image size from model args: an integer or [H, W], each 1..max_image_size.
std::optional<std::pair<int64_t, int64_t>> img_size_arg(const Claims& k) {
    if (!k.given("img_size")) return std::nullopt;
    const auto& v = k.arg("img_size");
    auto side = [&](const nlohmann::json& x) {
        check(x.is_number_integer() && x.get<int64_t>() >= 1 && x.get<int64_t>() <= max_image_size,
              k.arg_source("img_size") + " must be an integer or [H, W] with 1 <= H, W <= " +
                  std::to_string(max_image_size) + ", got " + v.dump());
        return x.get<int64_t>();
    };
    if (v.is_array() && v.size() == 2) return std::pair{side(v[0]), side(v[1])};
    const int64_t n = side(v);
    return std::pair{n, n};
}

float checked_eps(double eps, const std::string& source) {
    check(std::isfinite(eps) && eps > 0.0 && eps <= 1.0,
          source + " must be a positive number up to 1 (LayerNorm epsilon), got " + std::to_string(eps));
    return float(eps);
}

}  // namespace

VitConfig resolve_vit_config(const std::map<std::string, Shape>& s, VitHints& hints) {
    std::optional<TimmVitEntry> reg;
    if (!hints.name.empty()) {
        reg = lookup_timm_vit(hints.name);
        if (!reg) hints.notes.push_back("architecture name '" + hints.name + "' is not a registered timm ViT; configured from the tensors");
    }
    VitConfig c = from_tensors(s);
    c.name = hints.name;
    check(c.in_chans == 3, "patch_embed.proj.weight " + shape_str(s.at("patch_embed.proj.weight")) + " takes " +
                               std::to_string(c.in_chans) + " input channels; vitrt feeds RGB images (3)");
    if (auto why = contradiction(c, s, Claims(hints, reg))) {
        if (!reg || !hints.name_from_path) throw Error(refusal(hints, *why));
        hints.notes.push_back("architecture name from " + hints.name_source + " ignored: " + *why);
        reg.reset();
        c.name.clear();
        if (auto args_why = contradiction(c, s, Claims(hints, reg))) throw Error(refusal(hints, *args_why));
    }
    const Claims k(hints, reg);
    if (reg) {  // what the name says and the tensors cannot show
        c.heads = reg->config.heads;
        c.img_h = reg->config.img_h, c.img_w = reg->config.img_w;
        c.global_pool = reg->config.global_pool;
        c.no_embed_class = reg->config.no_embed_class;
        c.eps = reg->config.eps;
    }

    // Heads: not visible in timm's shapes (qkv is [3D, D] whatever the count).
    if (hints.heads_in_weights) {
        c.heads = *hints.heads_in_weights;
        hints.heads_source = "the checkpoint's query kernel shape";
    } else if (auto v = k.integer("num_heads", reg ? std::optional(reg->config.heads) : std::nullopt)) {
        if (reg && v->value != reg->config.heads)
            hints.notes.push_back(v->source + " = " + std::to_string(v->value) + " overrides the " +
                                  std::to_string(reg->config.heads) + " heads of " + k.registry_source());
        c.heads = v->value;
        hints.heads_source = v->source;
    } else {
        c.heads = c.embed_dim == 1280 ? 16 : c.embed_dim / 64;  // ViT-H uses head_dim 80, the rest 64
        hints.heads_source = "assumed (embed_dim / 64): no name or config states it; pass --arch NAME if this is wrong";
        hints.notes.push_back("number of heads not given by any name or config: assumed " + std::to_string(c.heads) +
                              " (pass --arch NAME if this is wrong)");
    }
    check(c.heads > 0 && c.embed_dim % c.heads == 0,
          "embed dim " + std::to_string(c.embed_dim) + " is not divisible by " + std::to_string(c.heads) + " heads (from " +
              hints.heads_source + ")");

    // Tokens and resolution from the position embedding.
    auto pe_it = s.find("pos_embed");
    check(pe_it != s.end(), "not a ViT checkpoint: tensor 'pos_embed' is missing");
    const Shape& pe = pe_it->second;
    check(pe.size() == 3 && pe[0] == 1 && pe[2] == c.embed_dim, "pos_embed must be [1, L, D], got " + shape_str(pe));
    const int64_t L = pe[1], Pf = c.num_prefix_tokens();
    std::string embed_class_source = reg ? k.registry_source() : "the pos_embed shape";
    if (auto v = k.boolean("no_embed_class", std::nullopt)) {
        c.no_embed_class = v->value;
        embed_class_source = v->source;
    } else if (!reg) {
        c.no_embed_class = Pf > 0 && isqrt_exact(L - Pf) < 0 && isqrt_exact(L) > 0;
    }
    const int64_t grid_tokens = c.no_embed_class ? L : L - Pf;
    std::string grid_source = "the pos_embed shape";
    if (auto hw = img_size_arg(k)) {
        c.img_h = hw->first, c.img_w = hw->second;
        grid_source = k.arg_source("img_size");
    } else {
        const int64_t g = isqrt_exact(grid_tokens);
        if (g > 0 && (!reg || (c.img_h / c.patch) * (c.img_w / c.patch) != grid_tokens)) {
            if (reg)
                hints.notes.push_back("pos_embed holds a " + std::to_string(g) + "x" + std::to_string(g) + " grid: resolution " +
                                      std::to_string(g * c.patch) + "x" + std::to_string(g * c.patch) + " instead of the " +
                                      std::to_string(c.img_h) + "x" + std::to_string(c.img_w) + " of " + k.registry_source());
            c.img_h = c.img_w = g * c.patch;
        } else if (reg) {
            grid_source = k.registry_source();
        }
    }
    check(c.img_h <= max_image_size && c.img_w <= max_image_size && (c.img_h / c.patch) * (c.img_w / c.patch) == grid_tokens,
          "pos_embed has " + std::to_string(L) + " rows, which does not fit " + std::to_string(Pf) + " prefix token(s)" +
              (c.no_embed_class ? " (not embedded: no_embed_class, from " + embed_class_source + ")" : std::string()) +
              " and a grid of " + std::to_string(c.img_h / c.patch) + "x" + std::to_string(c.img_w / c.patch) +
              " patches (" + std::to_string(c.img_h) + "x" + std::to_string(c.img_w) + " pixels, from " + grid_source + ")");

    if (hints.global_pool) c.global_pool = *hints.global_pool;
    else if (auto pool = k.string("global_pool"); pool && !pool->empty()) c.global_pool = parse_global_pool(*pool);
    else if (!reg) c.global_pool = (c.fc_norm || !c.class_token) ? GlobalPool::avg : GlobalPool::token;
    check(c.global_pool != GlobalPool::token || c.class_token, "global_pool 'token' needs a class token, and this checkpoint has none");
    check(!c.dist_token || has(s, "head_dist.weight") || c.num_classes == 0,
          "distillation token without head_dist: not a timm DeiT-distilled checkpoint");
    if (auto v = k.number("layer_norm_eps", std::nullopt)) c.eps = checked_eps(v->value, v->source);
    if (hints.eps) c.eps = checked_eps(*hints.eps, hints.eps_source.empty() ? "layer_norm_eps" : hints.eps_source);
    return c;
}

}  // namespace vitrt
