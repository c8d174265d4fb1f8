#include "load/pretrained_cfg.hpp"

#include <cmath>

#include <cstdlib>
#include <filesystem>

#include "vitrt/error.hpp"

namespace vitrt {

bool apply_timm_pretrained_cfg(const ModelSource& src, image::PreprocessConfig& p) {
    if (src.config_kind != ConfigKind::timm || !src.config.contains("pretrained_cfg") || !src.config["pretrained_cfg"].is_object())
        return false;
    // Every value is checked before conversion: a string or a number out of range names the field
    // (no nlohmann type_error, no float-to-int overflow).
    auto read3 = [](const nlohmann::json& j, float out[3], const char* field) {
        if (!(j.is_array() && j.size() == 3)) return;
        for (int i = 0; i < 3; ++i) {
            const auto& v = j[size_t(i)];
            check(v.is_number() && std::isfinite(v.get<double>()) && std::fabs(v.get<double>()) < 1e6,
                  std::string("pretrained_cfg.") + field + " must be three finite numbers, got " + j.dump());
            out[i] = v.get<float>();
        }
    };
    const auto& pc = src.config["pretrained_cfg"];
    if (pc.contains("input_size") && pc["input_size"].is_array() && pc["input_size"].size() == 3) {
        int hw[2];
        for (int i = 0; i < 2; ++i) {
            const auto& v = pc["input_size"][size_t(i + 1)];
            check(v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= 4096,
                  "pretrained_cfg.input_size must be [3, H, W] with 1 <= H, W <= 4096, got " + pc["input_size"].dump());
            hw[i] = int(v.get<int64_t>());
        }
        p.input_height = hw[0], p.input_width = hw[1];
    }
    if (pc.contains("interpolation") && pc["interpolation"].is_string())
        p.interp = image::parse_interp(pc["interpolation"].get<std::string>());
    if (pc.contains("crop_pct") && pc["crop_pct"].is_number()) {
        p.crop_pct = pc["crop_pct"].get<double>();
        check(std::isfinite(p.crop_pct) && p.crop_pct > 0.0 && p.crop_pct <= 10.0,
              "pretrained_cfg.crop_pct must be in (0, 10], got " + pc["crop_pct"].dump());
    }
    if (pc.contains("crop_mode") && pc["crop_mode"].is_string()) p.crop_mode = image::parse_crop_mode(pc["crop_mode"].get<std::string>());
    if (pc.contains("mean")) read3(pc["mean"], p.mean, "mean");
    if (pc.contains("std")) read3(pc["std"], p.std, "std");
    image::validate_preprocess(p);  // std 0 and the like: refused at load, not per image
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
