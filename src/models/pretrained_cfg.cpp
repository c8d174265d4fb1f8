#include "models/pretrained_cfg.hpp"

namespace vitrt {

bool apply_timm_pretrained_cfg(const ModelSource& src, image::PreprocessConfig& p) {
    if (src.config_kind != "timm" || !src.config.contains("pretrained_cfg") || !src.config["pretrained_cfg"].is_object())
        return false;
    auto read3 = [](const nlohmann::json& j, float out[3]) {
        if (j.is_array() && j.size() == 3)
            for (int i = 0; i < 3; ++i) out[i] = j[size_t(i)].get<float>();
    };
    const auto& pc = src.config["pretrained_cfg"];
    if (pc.contains("input_size") && pc["input_size"].is_array() && pc["input_size"].size() == 3) {
        p.input_height = pc["input_size"][1].get<int>();
        p.input_width = pc["input_size"][2].get<int>();
    }
    if (pc.contains("interpolation") && pc["interpolation"].is_string())
        p.interp = image::parse_interp(pc["interpolation"].get<std::string>());
    if (pc.contains("crop_pct") && pc["crop_pct"].is_number()) p.crop_pct = pc["crop_pct"].get<double>();
    if (pc.contains("crop_mode") && pc["crop_mode"].is_string()) p.crop_mode = pc["crop_mode"].get<std::string>();
    if (pc.contains("mean")) read3(pc["mean"], p.mean);
    if (pc.contains("std")) read3(pc["std"], p.std);
    return true;
}

}  // namespace vitrt
