// ViT-family hyper-parameters (timm's VisionTransformer / VisionTransformerDistilled), resolved
// from the checkpoint's tensors plus whatever names and configs came with it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "image/image.hpp"

namespace vitrt {

// timm's global_pool: the class token's features, or the mean of the patch tokens.
enum class GlobalPool { token, avg };
inline const char* global_pool_name(GlobalPool p) { return p == GlobalPool::token ? "token" : "avg"; }
inline GlobalPool parse_global_pool(const std::string& s) {
    if (s == "token") return GlobalPool::token;
    if (s == "avg") return GlobalPool::avg;
    throw Error("global_pool '" + s + "' is not supported (token, avg)");
}

struct VitConfig {
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
    GlobalPool global_pool = GlobalPool::token;
    float eps = 1e-6f;

    int64_t num_prefix_tokens() const { return (class_token ? 1 : 0) + (dist_token ? 1 : 0) + reg_tokens; }
    int64_t head_dim() const { return heads ? embed_dim / heads : 0; }
};

}  // namespace vitrt
