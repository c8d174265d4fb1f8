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
    std::string name_source;     // where the name came from ("--arch", "config.json architecture", ...)
    bool name_from_path = false; // a guess from a file name: tensors that contradict it overrule it
    nlohmann::json model_args;   // timm create_model kwargs (config.json model_args, metadata)
    std::map<std::string, std::string> arg_sources;  // model_args key -> where it came from
};

// The configuration implied by the tensor names and shapes (either form). Throws vitrt::Error
// naming the tensor when the structure is incomplete or the widths disagree, and naming the field,
// both values and their sources when a registered name (with its model args) contradicts the
// tensors (layers, embed_dims, mlp_ratios, token mixers, num_classes); a name guessed from the
// path is dropped instead (noted).
FastVitConfig resolve_fastvit_config(const std::map<std::string, Shape>& shapes, const FastVitHints& hints,
                                     std::vector<std::string>& notes);

}  // namespace vitrt
