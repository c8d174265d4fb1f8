// timm's registries, in one place: which architecture names exist and what each implies
// (hyper-parameters and default pretrained_cfg). Tables in vit_registry.cpp, fastvit_registry.cpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "image/image.hpp"
#include "models/fastvit_config.hpp"
#include "models/vit_config.hpp"

namespace vitrt {

// What a timm architecture name implies: hyper-parameters and its default pretrained_cfg.
struct TimmVitEntry {
    VitConfig config;
    image::PreprocessConfig preprocess;
};
// nullopt when the name is not a ViT-family model timm registers (vit_*, deit_*, deit3_*).
std::optional<TimmVitEntry> lookup_timm_vit(const std::string& name);

// timm's registered variants (timm/models/fastvit.py): fastvit_t8, t12, s12, sa12, sa24, sa36, ma36.
struct FastVitVariant {
    const char* name;
    int64_t layers[4];
    int64_t dims[4];
    double mlp_ratio;
    bool attention_last;  // stage 3 = RepCPE + attention (SA/MA); else all RepMixer
    double crop_pct;
};
const std::vector<FastVitVariant>& fastvit_variants();
std::optional<FastVitVariant> lookup_fastvit(const std::string& name);  // accepts "name.tag"

// Default preprocessing of the registered weights (timm _cfg): 256x256, bicubic, ImageNet mean/std,
// crop_pct 0.9 (0.95 for ma36).
image::PreprocessConfig fastvit_default_preprocess(const std::string& name);

}  // namespace vitrt
