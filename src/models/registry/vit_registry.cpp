// timm's registered ViT-family architectures (timm/models/vision_transformer.py, deit.py) and the
// pretrained_cfg of each one's default weights tag: what a name alone tells us.
#include <cstring>

#include "models/registry/registry.hpp"

namespace vitrt {
namespace {

enum Norm { INC, DEF };  // IMAGENET_INCEPTION_MEAN/STD (0.5) or IMAGENET_DEFAULT_MEAN/STD

struct Row {
    const char* name;
    int patch, img, dim, depth, heads;
    double mlp_ratio;
    const char* pool;  // "token" / "avg"
    int fc_norm;       // -1: timm default (on for avg pooling), 0 off, 1 on
    bool class_token, no_embed_class, layer_scale, qkv_bias, distilled;
    int reg_tokens;
    Norm norm;
    double crop_pct;
    const char* crop_mode;
    int num_classes;
};

// clang-format off
constexpr Row kRows[] = {
    // name                               p   img  dim  dep hd  mlp  pool    fcn  cls    noemb  ls     qkvb   dist  reg norm crop  mode      classes
    {"vit_tiny_patch16_224",             16, 224, 192, 12, 3,  4.0, "token", -1, true,  false, false, true,  false, 0, INC, 0.9,  "center", 1000},
    {"vit_tiny_patch16_384",             16, 384, 192, 12, 3,  4.0, "token", -1, true,  false, false, true,  false, 0, INC, 1.0,  "center", 1000},
    {"vit_small_patch32_224",            32, 224, 384, 12, 6,  4.0, "token", -1, true,  false, false, true,  false, 0, INC, 0.9,  "center", 1000},
    {"vit_small_patch32_384",            32, 384, 384, 12, 6,  4.0, "token", -1, true,  false, false, true,  false, 0, INC, 1.0,  "center", 1000},
    {"vit_small_patch16_224",            16, 224, 384, 12, 6,  4.0, "token", -1, true,  false, false, true,  false, 0, INC, 0.9,  "center", 1000},
    {"vit_small_patch16_384",            16, 384, 384, 12, 6,  4.0, "token", -1, true,  false, false, true,  false, 0, INC, 1.0,  "center", 1000},
    {"vit_small_patch8_224",              8, 224, 384, 12, 6,  4.0, "token", -1, true,  false, false, true,  false, 0, DEF, 0.9,  "center", 0},
    {"vit_base_patch32_224",             32, 224, 768, 12, 12, 4.0, "token", -1, true,  false, false, true,  false, 0, INC, 0.9,  "center", 1000},
    {"vit_base_patch32_384",             32, 384, 768, 12, 12, 4.0, "token", -1, true,  false, false, true,  false, 0, INC, 1.0,  "center", 1000},
    {"vit_base_patch16_224",             16, 224, 768, 12, 12, 4.0, "token", -1, true,  false, false, true,  false, 0, INC, 0.9,  "center", 1000},
    {"vit_base_patch16_384",             16, 384, 768, 12, 12, 4.0, "token", -1, true,  false, false, true,  false, 0, INC, 1.0,  "center", 1000},
    {"vit_base_patch8_224",               8, 224, 768, 12, 12, 4.0, "token", -1, true,  false, false, true,  false, 0, INC, 0.9,  "center", 1000},
    {"vit_large_patch32_224",            32, 224, 1024, 24, 16, 4.0, "token", -1, true, false, false, true,  false, 0, INC, 0.9,  "center", 0},
    {"vit_large_patch32_384",            32, 384, 1024, 24, 16, 4.0, "token", -1, true, false, false, true,  false, 0, INC, 1.0,  "center", 1000},
    {"vit_large_patch16_224",            16, 224, 1024, 24, 16, 4.0, "token", -1, true, false, false, true,  false, 0, INC, 0.9,  "center", 1000},
    {"vit_large_patch16_384",            16, 384, 1024, 24, 16, 4.0, "token", -1, true, false, false, true,  false, 0, INC, 1.0,  "center", 1000},
    {"vit_large_patch14_224",            14, 224, 1024, 24, 16, 4.0, "token", -1, true, false, false, true,  false, 0, INC, 0.9,  "center", 1000},
    {"vit_huge_patch14_224",             14, 224, 1280, 32, 16, 4.0, "token", -1, true, false, false, true,  false, 0, INC, 0.9,  "center", 0},
    {"vit_huge_patch14_gap_224",         14, 224, 1280, 32, 16, 4.0, "avg",    0, false, false, false, true, false, 0, DEF, 0.9,  "center", 0},
    {"vit_huge_patch16_gap_448",         16, 448, 1280, 32, 16, 4.0, "avg",    0, false, false, false, true, false, 0, DEF, 1.0,  "center", 0},
    {"vit_base_patch16_gap_224",         16, 224, 768, 12, 16, 4.0, "avg",     0, false, false, false, true, false, 0, INC, 0.9,  "center", 1000},
    {"vit_medium_patch16_gap_240",       16, 240, 512, 12, 8,  4.0, "avg",     0, false, false, true, false, false, 0, INC, 0.95, "center", 11821},
    {"vit_medium_patch16_gap_256",       16, 256, 512, 12, 8,  4.0, "avg",     0, false, false, true, false, false, 0, INC, 0.95, "center", 1000},
    {"vit_medium_patch16_gap_384",       16, 384, 512, 12, 8,  4.0, "avg",     0, false, false, true, false, false, 0, INC, 0.95, "squash", 1000},
    {"vit_betwixt_patch16_gap_256",      16, 256, 640, 12, 10, 4.0, "avg",     0, false, false, true, false, false, 0, INC, 0.95, "center", 1000},
    {"vit_medium_patch16_reg1_gap_256",  16, 256, 512, 12, 8,  4.0, "avg",    -1, false, true,  true, true,  false, 1, INC, 0.95, "center", 1000},
    {"vit_medium_patch16_reg4_gap_256",  16, 256, 512, 12, 8,  4.0, "avg",    -1, false, true,  true, true,  false, 4, INC, 0.95, "center", 1000},
    {"vit_mediumd_patch16_reg4_gap_256", 16, 256, 512, 20, 8,  4.0, "avg",    -1, false, true,  true, true,  false, 4, INC, 0.95, "center", 1000},
    {"vit_mediumd_patch16_reg4_gap_384", 16, 384, 512, 20, 8,  4.0, "avg",    -1, false, true,  true, true,  false, 4, INC, 1.0,  "center", 1000},
    {"vit_betwixt_patch16_reg1_gap_256", 16, 256, 640, 12, 10, 4.0, "avg",    -1, false, true,  true, true,  false, 1, INC, 0.95, "center", 1000},
    {"vit_betwixt_patch16_reg4_gap_256", 16, 256, 640, 12, 10, 4.0, "avg",    -1, false, true,  true, true,  false, 4, INC, 0.95, "center", 1000},
    {"vit_betwixt_patch16_reg4_gap_384", 16, 384, 640, 12, 10, 4.0, "avg",    -1, false, true,  true, true,  false, 4, INC, 1.0,  "center", 1000},
    {"vit_base_patch16_reg4_gap_256",    16, 256, 768, 12, 12, 4.0, "avg",    -1, false, true,  false, true, false, 4, INC, 0.9,  "center", 1000},
    {"deit_tiny_patch16_224",            16, 224, 192, 12, 3,  4.0, "token", -1, true,  false, false, true,  false, 0, DEF, 0.9,  "center", 1000},
    {"deit_small_patch16_224",           16, 224, 384, 12, 6,  4.0, "token", -1, true,  false, false, true,  false, 0, DEF, 0.9,  "center", 1000},
    {"deit_base_patch16_224",            16, 224, 768, 12, 12, 4.0, "token", -1, true,  false, false, true,  false, 0, DEF, 0.9,  "center", 1000},
    {"deit_base_patch16_384",            16, 384, 768, 12, 12, 4.0, "token", -1, true,  false, false, true,  false, 0, DEF, 1.0,  "center", 1000},
    {"deit_tiny_distilled_patch16_224",  16, 224, 192, 12, 3,  4.0, "token", -1, true,  false, false, true,  true,  0, DEF, 0.9,  "center", 1000},
    {"deit_small_distilled_patch16_224", 16, 224, 384, 12, 6,  4.0, "token", -1, true,  false, false, true,  true,  0, DEF, 0.9,  "center", 1000},
    {"deit_base_distilled_patch16_224",  16, 224, 768, 12, 12, 4.0, "token", -1, true,  false, false, true,  true,  0, DEF, 0.9,  "center", 1000},
    {"deit_base_distilled_patch16_384",  16, 384, 768, 12, 12, 4.0, "token", -1, true,  false, false, true,  true,  0, DEF, 1.0,  "center", 1000},
    {"deit3_small_patch16_224",          16, 224, 384, 12, 6,  4.0, "token", -1, true,  true,  true,  true,  false, 0, DEF, 0.9,  "center", 1000},
    {"deit3_small_patch16_384",          16, 384, 384, 12, 6,  4.0, "token", -1, true,  true,  true,  true,  false, 0, DEF, 1.0,  "center", 1000},
    {"deit3_medium_patch16_224",         16, 224, 512, 12, 8,  4.0, "token", -1, true,  true,  true,  true,  false, 0, DEF, 0.9,  "center", 1000},
    {"deit3_base_patch16_224",           16, 224, 768, 12, 12, 4.0, "token", -1, true,  true,  true,  true,  false, 0, DEF, 0.9,  "center", 1000},
    {"deit3_base_patch16_384",           16, 384, 768, 12, 12, 4.0, "token", -1, true,  true,  true,  true,  false, 0, DEF, 1.0,  "center", 1000},
    {"deit3_large_patch16_224",          16, 224, 1024, 24, 16, 4.0, "token", -1, true, true,  true,  true,  false, 0, DEF, 0.9,  "center", 1000},
    {"deit3_large_patch16_384",          16, 384, 1024, 24, 16, 4.0, "token", -1, true, true,  true,  true,  false, 0, DEF, 1.0,  "center", 1000},
    {"deit3_huge_patch14_224",           14, 224, 1280, 32, 16, 4.0, "token", -1, true, true,  true,  true,  false, 0, DEF, 0.9,  "center", 1000},
};
// clang-format on

TimmVitEntry to_entry(const Row& r) {
    TimmVitEntry e;
    VitConfig& c = e.config;
    c.name = r.name;
    c.patch = r.patch;
    c.img_h = c.img_w = r.img;
    c.embed_dim = r.dim;
    c.depth = r.depth;
    c.heads = r.heads;
    c.mlp_hidden = int64_t(r.dim * r.mlp_ratio);
    c.global_pool = parse_global_pool(r.pool);
    c.class_token = r.class_token;
    c.dist_token = r.distilled;
    c.reg_tokens = r.reg_tokens;
    c.no_embed_class = r.no_embed_class;
    c.layer_scale = r.layer_scale;
    c.qkv_bias = r.qkv_bias;
    c.fc_norm = r.fc_norm == 1 || (r.fc_norm == -1 && c.global_pool == GlobalPool::avg);
    c.final_norm = !c.fc_norm;
    c.num_classes = r.num_classes;
    image::PreprocessConfig& p = e.preprocess;
    p.input_height = p.input_width = r.img;
    p.crop_pct = r.crop_pct;
    p.crop_mode = image::parse_crop_mode(r.crop_mode);
    p.interp = image::Interp::bicubic;
    const float inc[3] = {0.5f, 0.5f, 0.5f};
    const float def_mean[3] = {0.485f, 0.456f, 0.406f}, def_std[3] = {0.229f, 0.224f, 0.225f};
    for (int i = 0; i < 3; ++i) {
        p.mean[i] = r.norm == INC ? inc[i] : def_mean[i];
        p.std[i] = r.norm == INC ? inc[i] : def_std[i];
    }
    return e;
}

}  // namespace

std::optional<TimmVitEntry> lookup_timm_vit(const std::string& full_name) {
    // "vit_base_patch16_224.augreg_in21k_ft_in1k" -> architecture before the pretrained tag.
    std::string name = full_name.substr(0, full_name.find('.'));
    if (name.rfind("timm/", 0) == 0) name = name.substr(5);
    for (const Row& r : kRows)
        if (name == r.name) return to_entry(r);
    return std::nullopt;
}


}  // namespace vitrt
