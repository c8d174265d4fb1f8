// ViT-family hyper-parameters (timm's VisionTransformer / VisionTransformerDistilled), resolved
// from the checkpoint's tensors plus whatever names and configs came with it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.hpp"
#include "image/image.hpp"

namespace vitrt {

struct ViTConfig {
    std::string name;  // timm architecture name when known
    int64_t embed_dim = 0;
    int64_t depth = 0;
    int64_t heads = 0;
    int64_t mlp_hidden = 0;
    int64_t patch = 16;
    int64_t in_chans = 3;
    int64_t img_h = 224, img_w = 224;  // resolution the pos embed was trained at
    int64_t num_classes = 0;           // 0 = no head (features out)
    bool qkv_bias = true;
    bool patch_bias = true;
    bool class_token = true;
    bool dist_token = false;
    int64_t reg_tokens = 0;
    bool no_embed_class = false;
    bool layer_scale = false;
    bool pre_norm = false;    // norm_pre after the embedding (CLIP-style)
    bool final_norm = true;   // norm before pooling
    bool fc_norm = false;     // norm after pooling
    std::string global_pool = "token";  // "token" or "avg"
    float eps = 1e-6f;

    int64_t num_prefix_tokens() const { return (class_token ? 1 : 0) + (dist_token ? 1 : 0) + reg_tokens; }
    int64_t head_dim() const { return heads ? embed_dim / heads : 0; }
};

// What a timm architecture name implies: hyper-parameters and its default pretrained_cfg.
struct TimmVitEntry {
    ViTConfig config;
    image::PreprocessConfig preprocess;
};
// nullopt when the name is not a ViT-family model timm registers (vit_*, deit_*, deit3_*).
std::optional<TimmVitEntry> lookup_timm_vit(const std::string& name);
// The names lookup_timm_vit() knows, for messages and tests.
std::vector<std::string> timm_vit_names();

// Hints from outside the tensors: a timm name, timm model_args / create_model kwargs, and the
// global pool, in the order they were found.
struct ViTHints {
    std::string name;
    nlohmann::json model_args = nlohmann::json::object();
    std::string global_pool;
    std::optional<float> eps;
    std::vector<std::string> notes;  // how each choice was made, for `vitrt info`
};

// Derives the config from timm-named tensors (shapes, which keys exist) and the hints; every
// choice the tensors cannot make (heads, pooling) is taken from the hints or logged in notes.
ViTConfig resolve_vit_config(const std::map<std::string, Shape>& shapes, ViTHints& hints);

}  // namespace vitrt
