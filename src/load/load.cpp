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

namespace vitrt {
namespace {

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
    auto read3 = [](const nlohmann::json& j, float out[3]) {
        if (j.is_array() && j.size() == 3)
            for (int i = 0; i < 3; ++i) out[i] = j[size_t(i)].get<float>();
    };
    if (apply_timm_pretrained_cfg(src, p)) {
        known = true;
    } else if (src.config_kind == ConfigKind::transformers && src.preprocessor.is_object()) {
        // ViTImageProcessor: resize straight to size (no crop), rescale, normalise.
        const auto& pp = src.preprocessor;
        p.crop_mode = image::CropMode::squash;
        p.crop_pct = 1.0;
        if (pp.contains("size")) {
            const auto& sz = pp["size"];
            if (sz.is_number()) p.input_height = p.input_width = sz.get<int>();
            else if (sz.is_object() && sz.contains("height")) {
                p.input_height = sz["height"].get<int>();
                p.input_width = sz["width"].get<int>();
            }
        }
        // DeiT-style processors resize to `size`, then centre-crop `crop_size`: the model runs at the
        // crop. crop_pct is chosen so that floor(crop / crop_pct) lands exactly on `size`.
        if (pp.value("do_center_crop", false) && pp.contains("crop_size")) {
            const auto& cs = pp["crop_size"];
            const int rh = p.input_height, rw = p.input_width;
            p.input_height = cs.is_number() ? cs.get<int>() : cs.value("height", rh);
            p.input_width = cs.is_number() ? cs.get<int>() : cs.value("width", rw);
            p.crop_pct = double(p.input_height) / (double(rh) + 1e-6);
            if (rw * p.input_height != rh * p.input_width)
                notes.push_back("preprocessor resize and crop have different aspect ratios; crop_pct taken from the height");
        }
        if (pp.contains("resample") && pp["resample"].is_number_integer()) {
            const int r = pp["resample"].get<int>();  // PIL enum: 0 nearest, 2 bilinear, 3 bicubic
            p.interp = r == 3 ? image::Interp::bicubic : r == 0 ? image::Interp::nearest : image::Interp::bilinear;
        } else {
            p.interp = image::Interp::bilinear;
        }
        if (pp.contains("image_mean")) read3(pp["image_mean"], p.mean);
        if (pp.contains("image_std")) read3(pp["image_std"], p.std);
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
    hints.name = architecture_name(
        src, opts.arch, [](const std::string& n) { return lookup_timm_vit(n).has_value(); }, hints.notes);
    const VitNaming naming = detect_vit_naming(ck);
    hints.model_args = timm_model_args(src);
    if (src.config_kind == ConfigKind::timm && src.config.contains("global_pool") && src.config["global_pool"].is_string())
        hints.global_pool = parse_global_pool(src.config["global_pool"].get<std::string>());
    if (src.config_kind == ConfigKind::transformers) {
        const auto& c = src.config;
        if (c.contains("num_attention_heads")) hints.model_args["num_heads"] = c["num_attention_heads"];
        if (c.contains("layer_norm_eps") && c["layer_norm_eps"].is_number()) hints.eps = c["layer_norm_eps"].get<float>();
        if (c.contains("hidden_act") && c["hidden_act"].is_string())
            check(c["hidden_act"] == "gelu", ck.path + ": hidden_act '" + c["hidden_act"].get<std::string>() +
                                                 "' is not supported (gelu)");
        if (c.contains("image_size") && c["image_size"].is_number_integer()) hints.model_args["img_size"] = c["image_size"];
    } else if (naming == VitNaming::transformers) {
        hints.eps = 1e-12f;  // transformers' VitConfig default
        hints.notes.push_back("transformers naming without config.json: layer_norm_eps 1e-12 assumed");
    }
    if (naming == VitNaming::google_npz) {
        const std::string q = "Transformer/encoderblock_0/MultiHeadDotProductAttention_1/query/kernel";
        if (ck.has(q) && ck.get(q).view.rank() == 3) hints.model_args["num_heads"] = ck.get(q).view.dim(1);
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
    const VitConfig cfg = resolve_vit_config(shapes, hints);
    const auto reg = hints.name.empty() ? std::nullopt : lookup_timm_vit(hints.name);

    LoadedModel out;
    out.preprocess = preprocess_from(src, reg, cfg, hints.notes);
    if (opts.image_size > 0) out.preprocess.input_height = out.preprocess.input_width = opts.image_size;
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
    d.timm_model_args = nlohmann::json{{"num_heads", cfg.heads},
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
    out.model = make_vit(cfg, reader, prep, out.preprocess.input_height, out.preprocess.input_width, std::move(d));
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
