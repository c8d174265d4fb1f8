#include "load/load.hpp"

#include <set>
#include <sstream>

#include "io/model_source.hpp"
#include "load/vit_resolve.hpp"
#include "models/registry/registry.hpp"
#include "models/fastvit.hpp"
#include "load/pretrained_cfg.hpp"
#include "models/vit.hpp"
#include "io/names/vit_names.hpp"
#include "load/quantized_file.hpp"
#include "vitrt/vitrt.hpp"

namespace vitrt {
namespace {

// Most patch tokens a ViT is run with: the largest --image-size at patch 16.
constexpr int64_t kMaxPatchTokens = int64_t(max_image_size / 16) * (max_image_size / 16);

std::string fmt_float(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

image::PreprocessConfig preprocess_from(const ModelSource& src, const std::optional<TimmVitEntry>& reg,
                                        const VitConfig& cfg, std::vector<std::string>& notes) {
    image::PreprocessConfig p;
    p.input_height = int(cfg.img_h);
    p.input_width = int(cfg.img_w);
    p.crop_pct = 0.9;  // timm's _cfg() defaults for ViTs: inception mean/std, bicubic
    for (int i = 0; i < 3; ++i) p.mean[i] = p.std[i] = 0.5f;
    bool known = false;
    if (reg) {
        p = reg->preprocess;
        p.input_height = int(cfg.img_h);
        p.input_width = int(cfg.img_w);
        known = true;
    }
    if (apply_timm_pretrained_cfg(src, p) || apply_transformers_preprocessor(src, p, notes)) {
        known = true;
    } else if (src.config_kind == ConfigKind::transformers) {
        p.crop_mode = image::CropMode::squash;
        p.crop_pct = 1.0;
        p.interp = image::Interp::bilinear;
        known = true;
    }
    if (!known)
        notes.push_back("no pretrained_cfg known for this checkpoint: using timm's ViT defaults (bicubic, crop_pct 0.9, "
                        "mean = std = 0.5)");
    return p;
}

bool looks_like_fastvit(const Checkpoint& c) {
    for (const auto& [k, v] : c.tensors)
        if (k.rfind("stem.0.", 0) == 0 || k.rfind("stages.0.", 0) == 0) return true;
    return false;
}

LoadedModel load_vit(ModelSource& src, Ops& ops, const LoadOptions& opts) {
    const Checkpoint& ck = src.checkpoint;
    VitHints hints;
    const ArchitectureName arch = architecture_name(
        src, opts.arch, [](const std::string& n) { return lookup_timm_vit(n).has_value(); }, hints.notes);
    hints.name = arch.name;
    hints.name_source = arch.source;
    hints.name_from_path = arch.from_path;
    const VitNaming naming = detect_vit_naming(ck);
    hints.model_args = timm_model_args(src, &hints.arg_sources);
    if (src.config_kind == ConfigKind::timm && src.config.contains("global_pool") && src.config["global_pool"].is_string())
        hints.global_pool = parse_global_pool(src.config["global_pool"].get<std::string>());
    if (src.config_kind == ConfigKind::transformers) {
        const auto& c = src.config;
        // transformers ViTConfig keys and the timm kwargs they state (checked against the tensors).
        const std::pair<const char*, const char*> keys[] = {
            {"hidden_size", "embed_dim"}, {"num_hidden_layers", "depth"}, {"num_attention_heads", "num_heads"},
            {"patch_size", "patch_size"}, {"num_channels", "in_chans"},   {"image_size", "img_size"},
            {"qkv_bias", "qkv_bias"}};
        for (const auto& [hf, timm] : keys) {
            if (!c.contains(hf) || c[hf].is_null()) continue;
            hints.model_args[timm] = c[hf];
            hints.arg_sources[timm] = std::string("config.json ") + hf;
        }
        if (c.contains("intermediate_size") && c["intermediate_size"].is_number_integer() && c.contains("hidden_size") &&
            c["hidden_size"].is_number_integer() && c["hidden_size"].get<int64_t>() > 0) {
            hints.model_args["mlp_ratio"] = double(c["intermediate_size"].get<int64_t>()) / double(c["hidden_size"].get<int64_t>());
            hints.arg_sources["mlp_ratio"] = "config.json intermediate_size / hidden_size";
        }
        if (c.contains("layer_norm_eps") && !c["layer_norm_eps"].is_null()) {
            check(c["layer_norm_eps"].is_number(), ck.path + ": config.json layer_norm_eps must be a number, got " +
                                                       c["layer_norm_eps"].dump());
            hints.eps = c["layer_norm_eps"].get<double>();
            hints.eps_source = "config.json layer_norm_eps";
        }
        if (c.contains("hidden_act") && c["hidden_act"].is_string())
            check(c["hidden_act"] == "gelu", ck.path + ": hidden_act '" + c["hidden_act"].get<std::string>() +
                                                 "' is not supported (gelu)");
    } else if (naming == VitNaming::transformers) {
        hints.eps = 1e-12;  // transformers' VitConfig default
        hints.notes.push_back("transformers naming without config.json: layer_norm_eps 1e-12 assumed");
    }
    if (naming == VitNaming::google_npz) {
        const std::string q = "Transformer/encoderblock_0/MultiHeadDotProductAttention_1/query/kernel";
        if (ck.has(q) && ck.get(q).view.rank() == 3) hints.heads_in_weights = ck.get(q).view.dim(1);
    }

    const auto tensors = vit_tensors_as_timm(ck, naming);
    const std::map<std::string, QuantizedEntry> quantized = quantized_entries(ck);
    std::map<std::string, Shape> shapes;
    for (const auto& [k, v] : tensors)  // integer tensors too: one not listed fails at its read, by name
        if (!quantized.count(k)) shapes[k] = v.view.shape;
    for (const auto& [k, e] : quantized) {  // the logical [N, K] of a weight stored as integers
        check(tensors.count(k) && tensors.at(k).view.rank() == 2,
              ck.path + ": quantized weight '" + k + "' is listed in the metadata but missing or not 2-D");
        shapes[k] = {tensors.at(k).view.dim(0), e.in_features};
    }
    VitConfig cfg;
    try {  // errors name the tensor or field; say which file too
        cfg = resolve_vit_config(shapes, hints);
    } catch (const Error& e) {
        throw Error(ck.path + ": " + e.what());
    }
    const auto reg = cfg.name.empty() ? std::nullopt : lookup_timm_vit(cfg.name);

    LoadedModel out;
    out.preprocess = preprocess_from(src, reg, cfg, hints.notes);
    if (opts.image_size > 0) out.preprocess.input_height = out.preprocess.input_width = opts.image_size;
    {
        // Bounded before anything is built: a small patch at a large resolution would otherwise
        // ask for a position embedding (and activations) of millions of tokens.
        const int64_t tokens = int64_t(out.preprocess.input_height / cfg.patch) * (out.preprocess.input_width / cfg.patch);
        check(tokens >= 1 && tokens <= kMaxPatchTokens,
              ck.path + ": input " + std::to_string(out.preprocess.input_height) + "x" +
                  std::to_string(out.preprocess.input_width) + " at patch " + std::to_string(cfg.patch) + " gives " +
                  std::to_string(tokens) + " patch tokens; the limit is " + std::to_string(kMaxPatchTokens) +
                  " (" + std::to_string(max_image_size) + "x" + std::to_string(max_image_size) +
                  " at patch 16): use a smaller --image-size");
    }
    out.labels = labels_from(src, cfg.num_classes);

    ModelDescription d;
    d.family = "vit";
    d.architecture = cfg.name.empty() ? "ViT (unnamed)" : cfg.name;
    d.source_format = std::string(vit_naming_name(naming)) + " " + ck.format;
    const TensorStats stats = tensor_stats(ck.tensors);
    d.parameters = stats.parameters;
    d.storage_dtype = stats.dtypes;
    const int64_t gh = out.preprocess.input_height / cfg.patch, gw = out.preprocess.input_width / cfg.patch;
    d.fields = {
        {"embed_dim", std::to_string(cfg.embed_dim)},
        {"depth", std::to_string(cfg.depth)},
        {"heads", std::to_string(cfg.heads) + " x " + std::to_string(cfg.head_dim())},
        {"heads_from", hints.heads_source},  // not visible in timm's shapes: say where the count came from
        {"mlp_hidden", std::to_string(cfg.mlp_hidden)},
        {"patch", std::to_string(cfg.patch)},
        {"checkpoint_resolution", std::to_string(cfg.img_h) + "x" + std::to_string(cfg.img_w)},
        {"resolution", std::to_string(out.preprocess.input_height) + "x" + std::to_string(out.preprocess.input_width)},
        {"tokens", std::to_string(gh * gw + cfg.num_prefix_tokens()) + " (" + std::to_string(gh) + "x" +
                       std::to_string(gw) + " patches + " + std::to_string(cfg.num_prefix_tokens()) + " prefix)"},
        {"prefix_tokens", std::string(cfg.class_token ? "cls " : "") + (cfg.dist_token ? "dist " : "") +
                              (cfg.reg_tokens ? std::to_string(cfg.reg_tokens) + " reg" : "")},
        {"pos_embed", cfg.no_embed_class ? "patches only (no_embed_class)" : "prefix + patches"},
        {"qkv_bias", cfg.qkv_bias ? "yes" : "no"},
        {"layer_scale", cfg.layer_scale ? "yes" : "no"},
        {"pooling", global_pool_name(cfg.global_pool) + std::string(cfg.dist_token ? " (cls + dist heads averaged)" : "")},
        {"norms", std::string(cfg.pre_norm ? "norm_pre " : "") + (cfg.final_norm ? "norm " : "") + (cfg.fc_norm ? "fc_norm" : "")},
        {"layernorm_eps", fmt_float(cfg.eps)},
        {"classes", cfg.num_classes ? std::to_string(cfg.num_classes) : "none (features out)"},
    };
    {
        const double T = double(gh * gw + cfg.num_prefix_tokens()), D = double(cfg.embed_dim), H = double(cfg.mlp_hidden);
        const double patch_k = double(cfg.in_chans * cfg.patch * cfg.patch);
        d.flops = 2.0 * double(gh * gw) * D * patch_k +
                  double(cfg.depth) * (2.0 * T * (4.0 * D * D + 2.0 * D * H) + 4.0 * T * T * D) +
                  2.0 * D * double(cfg.num_classes) * (cfg.dist_token ? 2 : 1);
    }
    d.notes = hints.notes;
    note_skipped(ck, d);
    describe_quantized_file(ck, d);
    // Everything timm's create_model needs to rebuild this model under its name (`vitrt quantize`
    // writes it to the quantized file's config.json, where it is cross-checked on load again).
    d.timm_model_args = nlohmann::json{{"embed_dim", cfg.embed_dim},
                                       {"depth", cfg.depth},
                                       {"num_heads", cfg.heads},
                                       {"mlp_ratio", double(cfg.mlp_hidden) / double(cfg.embed_dim)},
                                       {"patch_size", cfg.patch},
                                       {"in_chans", cfg.in_chans},
                                       {"num_classes", cfg.num_classes},
                                       {"class_token", cfg.class_token},
                                       {"reg_tokens", cfg.reg_tokens},
                                       {"qkv_bias", cfg.qkv_bias},
                                       {"init_values", cfg.layer_scale ? nlohmann::json(1.0) : nlohmann::json(nullptr)},
                                       {"global_pool", global_pool_name(cfg.global_pool)},
                                       {"no_embed_class", cfg.no_embed_class},
                                       {"img_size", {cfg.img_h, cfg.img_w}},
                                       {"layer_norm_eps", cfg.eps}}
                            .dump();
    WeightReader reader(tensors,
                        (cfg.name.empty() ? std::string("ViT") : cfg.name) + " (D=" + std::to_string(cfg.embed_dim) +
                            ", depth=" + std::to_string(cfg.depth) + ", mlp=" + std::to_string(cfg.mlp_hidden) + ")",
                        quantized);
    WeightPreparer prep(ops, opts.policy);
    try {  // errors name the tensor; say which file too
        out.model = make_vit(cfg, reader, prep, out.preprocess.input_height, out.preprocess.input_width, std::move(d));
    } catch (const Error& e) {
        throw Error(ck.path + ": " + e.what());
    }
    describe_precision(prep, out.model->mutable_description());
    return out;
}

}  // namespace

void note_skipped(const Checkpoint& ck, ModelDescription& d) {
    if (ck.skipped.empty()) return;
    std::string s;
    for (size_t i = 0; i < ck.skipped.size() && i < 8; ++i) s += (i ? ", " : "") + ck.skipped[i];
    d.notes.push_back(std::to_string(ck.skipped.size()) + " non-float checkpoint entr" +
                      (ck.skipped.size() == 1 ? "y" : "ies") + " ignored: " + s + (ck.skipped.size() > 8 ? ", ..." : ""));
}

void describe_precision(const WeightPreparer& prep, ModelDescription& d) {
    d.precision = prep.linear_summary();
    const auto& kept = prep.kept_float();
    if (!kept.empty()) {
        std::string s;
        for (size_t i = 0; i < kept.size() && i < 12; ++i) s += (i ? ", " : "") + kept[i];
        d.notes.push_back(std::to_string(kept.size()) + " linear weight(s) kept in f32: " + s +
                          (kept.size() > 12 ? ", ..." : ""));
    }
}

LoadedModel load_model(const std::string& path, Ops& ops, const LoadOptions& opts) {
    ModelSource src = open_model_source(path);
    if (looks_like_fastvit(src.checkpoint)) return load_fastvit(src, ops, opts);
    return load_vit(src, ops, opts);
}

}  // namespace vitrt
