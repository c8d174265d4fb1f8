// timm's registry of named FastViT variants (timm/models/fastvit.py: fastvit_t8 ... fastvit_ma36 and
// their pretrained_cfg).
#include "models/registry/registry.hpp"

namespace vitrt {
namespace {

// clang-format off
const std::vector<FastVitVariant> kVariants = {
    // name           layers          embed dims            mlp  attn   crop_pct
    {"fastvit_t8",   {2, 2, 4, 2},   {48, 96, 192, 384},   3.0, false, 0.9},
    {"fastvit_t12",  {2, 2, 6, 2},   {64, 128, 256, 512},  3.0, false, 0.9},
    {"fastvit_s12",  {2, 2, 6, 2},   {64, 128, 256, 512},  4.0, false, 0.9},
    {"fastvit_sa12", {2, 2, 6, 2},   {64, 128, 256, 512},  4.0, true,  0.9},
    {"fastvit_sa24", {4, 4, 12, 4},  {64, 128, 256, 512},  4.0, true,  0.9},
    {"fastvit_sa36", {6, 6, 18, 6},  {64, 128, 256, 512},  4.0, true,  0.9},
    {"fastvit_ma36", {6, 6, 18, 6},  {76, 152, 304, 608},  4.0, true,  0.95},
};
// clang-format on

}  // namespace

const std::vector<FastVitVariant>& fastvit_variants() { return kVariants; }

std::optional<FastVitVariant> lookup_fastvit(const std::string& name) {
    const std::string base = name.substr(0, name.find('.'));
    for (const auto& v : kVariants)
        if (base == v.name) return v;
    return std::nullopt;
}

image::PreprocessConfig fastvit_default_preprocess(const std::string& name) {
    image::PreprocessConfig p;  // ImageNet mean/std, bicubic, centre crop
    p.input_height = p.input_width = 256;
    p.crop_pct = 0.9;
    if (auto v = lookup_fastvit(name)) p.crop_pct = v->crop_pct;
    return p;
}

}  // namespace vitrt
