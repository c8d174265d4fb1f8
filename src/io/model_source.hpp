// Finds what a user points at: a weights file (.safetensors, .npz) or a directory in the
// Hugging Face hub layout (timm: model.safetensors + config.json with "architecture";
// transformers: config.json with "architectures"/"model_type" + preprocessor_config.json).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"

namespace vitrt {

// Which library's config.json came with the weights.
enum class ConfigKind { none, timm, transformers };

struct ModelSource {
    Checkpoint checkpoint;
    nlohmann::json config;        // config.json beside the weights, or null
    nlohmann::json preprocessor;  // preprocessor_config.json (transformers), or null
    ConfigKind config_kind = ConfigKind::none;
};

// Throws vitrt::Error naming the path and what was expected there.
ModelSource open_model_source(const std::string& path);

// Parses a JSON file; vitrt::Error naming the file on failure.
nlohmann::json read_json_file(const std::string& path);

}  // namespace vitrt
