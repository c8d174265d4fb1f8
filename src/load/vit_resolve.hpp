// ViT configuration from a checkpoint's timm-named tensors and the hints that came with it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/vit_config.hpp"

namespace vitrt {

// Hints from outside the tensors: a timm name, timm model_args / create_model kwargs, and the
// global pool, in the order they were found.
struct VitHints {
    std::string name;
    nlohmann::json model_args = nlohmann::json::object();
    std::optional<GlobalPool> global_pool;
    std::optional<float> eps;
    std::vector<std::string> notes;  // how each choice was made, for `vitrt info`
};

// Derives the config from timm-named tensors (shapes, which keys exist) and the hints; every
// choice the tensors cannot make (heads, pooling) is taken from the hints or logged in notes.
VitConfig resolve_vit_config(const std::map<std::string, Shape>& shapes, VitHints& hints);

}  // namespace vitrt
