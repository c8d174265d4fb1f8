// FastViT configuration from a checkpoint's tensors and the hints that came with it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/fastvit_config.hpp"

namespace vitrt {

// What the checkpoint and its config say besides the tensors.
struct FastVitHints {
    std::string name;            // architecture name (--arch, config.json, metadata, path), or ""
    nlohmann::json model_args;   // timm create_model kwargs (config.json model_args, metadata)
};

// The configuration implied by the tensor names and shapes (either form). Throws vitrt::Error
// naming the tensor when the structure is incomplete or the widths disagree.
FastVitConfig resolve_fastvit_config(const std::map<std::string, Shape>& shapes, const FastVitHints& hints,
                                     std::vector<std::string>& notes);

}  // namespace vitrt
