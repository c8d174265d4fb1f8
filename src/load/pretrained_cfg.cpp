#include "load/pretrained_cfg.hpp"

#include <cmath>

#include <cstdlib>
#include <filesystem>

#include "vitrt/error.hpp"
#include "vitrt/vitrt.hpp"

namespace vitrt {

namespace {

using json = nlohmann::json;

// Largest input side a config may ask for: the engine's --image-size bound.
constexpr int64_t kMaxSide = max_image_size;

bool present(const json& obj, const char* key) { return obj.contains(key) && !obj[key].is_null(); }

// An image side: an integer in 1..kMaxSide, else vitrt::Error naming `field`.
int side(const json& v, const std::string& field, const json& whole) {
    check(v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= kMaxSide,
          field + " must be an integer from 1 to " + std::to_string(kMaxSide) + ", got " + whole.dump());
    return int(v.get<int64_t>());
}

// Three finite numbers (or one, for all channels); `nonzero` for std (a division).
void read3(const json& j, float out[3], const std::string& field, bool nonzero) {
    const bool one = j.is_number();
    check(one || (j.is_array() && j.size() == 3), field + " must be three numbers, got " + j.dump());
    for (size_t i = 0; i < 3; ++i) {
        const json& v = one ? j : j[i];
        const double d = v.is_number() ? v.get<double>() : NAN;
        check(std::isfinite(d) && std::fabs(d) < 1e6 && (!nonzero || d != 0.0),
              field + " must be three finite" + std::string(nonzero ? " non-zero" : "") + " numbers, got " + j.dump());
        out[i] = float(d);
    }
}

// A parse_* call on a string field, its message prefixed by the field.
template <class F>
auto named(const std::string& field, const json& v, F parse) {
    check(v.is_string(), field + " must be a string, got " + v.dump());
    try {
        return parse(v.get<std::string>());
    } catch (const Error& e) {
        throw Error(field + ": " + e.what());
    }
}

}  // namespace

bool apply_timm_pretrained_cfg(const ModelSource& src, image::PreprocessConfig& p) {
    if (src.config_kind != ConfigKind::timm || !src.config.contains("pretrained_cfg") || !src.config["pretrained_cfg"].is_object())
        return false;
    // Every value is checked before conversion and use: a wrong type, size or range names the
    // field (no nlohmann type_error, no float-to-int overflow, no failure per image later).
    const json& pc = src.config["pretrained_cfg"];
    if (present(pc, "input_size")) {
        const json& v = pc["input_size"];
        const std::string f = "pretrained_cfg.input_size";
        check(v.is_array() && v.size() == 3, f + " must be [3, H, W], got " + v.dump());
        check(v[0].is_number_integer() && v[0].get<int64_t>() == 3, f + " must be [3, H, W] (RGB), got " + v.dump());
        p.input_height = side(v[1], f + " H", v);
        p.input_width = side(v[2], f + " W", v);
    }
    if (present(pc, "interpolation"))
        p.interp = named("pretrained_cfg.interpolation", pc["interpolation"], image::parse_interp);
    if (present(pc, "crop_pct")) {
        const json& v = pc["crop_pct"];
        check(v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() > 0.0 && v.get<double>() <= 10.0,
              "pretrained_cfg.crop_pct must be a number in (0, 10], got " + v.dump());
        p.crop_pct = v.get<double>();
    }
    if (present(pc, "crop_mode")) p.crop_mode = named("pretrained_cfg.crop_mode", pc["crop_mode"], image::parse_crop_mode);
    if (present(pc, "mean")) read3(pc["mean"], p.mean, "pretrained_cfg.mean", false);
    if (present(pc, "std")) read3(pc["std"], p.std, "pretrained_cfg.std", true);
    image::validate_preprocess(p);
    return true;
}

bool apply_transformers_preprocessor(const ModelSource& src, image::PreprocessConfig& p, std::vector<std::string>& notes) {
    if (src.config_kind != ConfigKind::transformers || !src.preprocessor.is_object()) return false;
    const json& pp = src.preprocessor;
    const std::string file = "preprocessor_config.json ";
    // ViTImageProcessor: resize straight to size (no crop), rescale, normalise.
    p.crop_mode = image::CropMode::squash;
    p.crop_pct = 1.0;
    // size: an integer, or {"height", "width"}; other forms (shortest_edge) are not a ViT
    // processor's: noted, and the model's resolution is kept.
    auto hw = [&](const json& v, const std::string& f, int& h, int& w) {
        if (v.is_number()) {
            h = w = side(v, file + f, v);
        } else if (v.is_object() && v.contains("height") && v.contains("width")) {
            h = side(v["height"], file + f + ".height", v);
            w = side(v["width"], file + f + ".width", v);
        } else {
            notes.push_back(file + f + " " + v.dump() + " is not an integer or {height, width}: ignored");
            return false;
        }
        return true;
    };
    if (present(pp, "size")) hw(pp["size"], "size", p.input_height, p.input_width);
    // DeiT-style processors resize to `size` (aspect not kept: squash), then centre-crop
    // `crop_size`: the model runs at the crop. crop_pct is chosen so that floor(crop / crop_pct)
    // lands exactly on `size`.
    const bool crop = present(pp, "do_center_crop") && pp["do_center_crop"].is_boolean() && pp["do_center_crop"].get<bool>();
    if (crop && present(pp, "crop_size")) {
        const int rh = p.input_height, rw = p.input_width;
        if (hw(pp["crop_size"], "crop_size", p.input_height, p.input_width)) {
            p.crop_pct = double(p.input_height) / (double(rh) + 1e-6);
            if (int64_t(rw) * p.input_height != int64_t(rh) * p.input_width)
                notes.push_back("preprocessor resize and crop have different aspect ratios; crop_pct taken from the height");
        }
    }
    p.interp = image::Interp::bilinear;
    if (present(pp, "resample")) {
        // PIL's enum: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming.
        const json& r = pp["resample"];
        check(r.is_number_integer() && (r == 0 || r == 2 || r == 3),
              file + "resample must be 0 (nearest), 2 (bilinear) or 3 (bicubic), got " + r.dump() +
                  " (lanczos, box and hamming are not supported)");
        p.interp = r == 3 ? image::Interp::bicubic : r == 0 ? image::Interp::nearest : image::Interp::bilinear;
    }
    if (present(pp, "image_mean")) read3(pp["image_mean"], p.mean, file + "image_mean", false);
    if (present(pp, "image_std")) read3(pp["image_std"], p.std, file + "image_std", true);
    image::validate_preprocess(p);
    return true;
}

ArchitectureName architecture_name(const ModelSource& src, const std::string& explicit_arch,
                                   const std::function<bool(const std::string&)>& known, std::vector<std::string>& notes) {
    namespace fs = std::filesystem;
    if (!explicit_arch.empty()) return {explicit_arch, "--arch"};
    if (src.config_kind == ConfigKind::timm && src.config.contains("architecture") && src.config["architecture"].is_string())
        return {src.config["architecture"].get<std::string>(), "config.json architecture"};
    auto it = src.checkpoint.metadata.find("model");
    if (it != src.checkpoint.metadata.end()) return {it->second, "the checkpoint's metadata \"model\""};
    for (fs::path p = fs::path(src.checkpoint.path); !p.empty() && p != p.parent_path(); p = p.parent_path()) {
        const std::string stem = p.filename().string(), name = stem.substr(0, stem.find('.'));
        if (known(name)) {
            notes.push_back("architecture taken from the path name '" + stem + "'");
            return {name, "the path name '" + stem + "'", true};
        }
    }
    return {};
}

nlohmann::json timm_model_args(const ModelSource& src, std::map<std::string, std::string>* sources) {
    nlohmann::json args = nlohmann::json::object();
    auto note = [&](const std::string& key, const std::string& where) {
        if (sources) (*sources)[key] = where;
    };
    if (src.config_kind == ConfigKind::timm && src.config.contains("model_args") && src.config["model_args"].is_object()) {
        args = src.config["model_args"];
        for (auto it = args.begin(); it != args.end(); ++it) note(it.key(), "config.json model_args." + it.key());
    }
    auto kw = src.checkpoint.metadata.find("create_model_kwargs");
    if (kw != src.checkpoint.metadata.end()) {
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(kw->second);
        } catch (const std::exception& e) {
            throw Error(src.checkpoint.path + ": metadata create_model_kwargs is not JSON: " + e.what());
        }
        check(j.is_object(), src.checkpoint.path + ": metadata create_model_kwargs must be a JSON object");
        for (auto it = j.begin(); it != j.end(); ++it) {
            args[it.key()] = it.value();
            note(it.key(), "the checkpoint's metadata create_model_kwargs." + it.key());
        }
    }
    // timm hub configs carry the head size at the top level (timm passes it to create_model).
    if (src.config_kind == ConfigKind::timm && src.config.contains("num_classes") && !args.contains("num_classes")) {
        args["num_classes"] = src.config["num_classes"];
        note("num_classes", "config.json num_classes");
    }
    return args;
}

std::vector<std::string> labels_from(const ModelSource& src, int64_t classes) {
    std::vector<std::string> labels;
    const auto& c = src.config;
    if (src.config_kind == ConfigKind::transformers && c.contains("id2label") && c["id2label"].is_object() &&
        int64_t(c["id2label"].size()) == classes) {
        labels.resize(size_t(classes));
        for (auto it = c["id2label"].begin(); it != c["id2label"].end(); ++it) {
            const long i = std::strtol(it.key().c_str(), nullptr, 10);
            if (i >= 0 && i < classes && it.value().is_string()) labels[size_t(i)] = it.value().get<std::string>();
        }
        // transformers' default "LABEL_0".. names carry no information.
        if (!labels.empty() && labels[0] == "LABEL_0") labels.clear();
    } else if (src.config_kind == ConfigKind::timm && c.contains("label_names") && c["label_names"].is_array() &&
               int64_t(c["label_names"].size()) == classes) {
        for (const auto& l : c["label_names"]) labels.push_back(l.is_string() ? l.get<std::string>() : l.dump());
    }
    return labels;
}

}  // namespace vitrt
