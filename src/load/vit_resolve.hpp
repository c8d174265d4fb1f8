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
    std::string name_source;      // where the name came from ("--arch", "config.json architecture", ...)
    bool name_from_path = false;  // a guess from a file name: tensors that contradict it overrule it
    nlohmann::json model_args = nlohmann::json::object();
    std::map<std::string, std::string> arg_sources;  // model_args key -> where it came from, e.g.
                                                     // "config.json hidden_size" for embed_dim
    std::optional<int64_t> heads_in_weights;          // heads the tensors show (Google npz query kernels)
    std::optional<GlobalPool> global_pool;
    std::optional<double> eps;
    std::string eps_source;                           // where eps came from, for messages
    std::vector<std::string> notes;  // how each choice was made, for `vitrt info`
    std::string heads_source;        // out: where the head count came from, for `vitrt info`
};

// Derives the config from timm-named tensors (shapes, which keys exist) and the hints; every
// choice the tensors cannot make (heads, pooling) is taken from the hints or logged in notes.
// Every value the name (timm's registry) or the model args state and the tensors can confirm
// (embed width, depth, patch, MLP width, classes, prefix tokens, qkv bias, LayerScale, heads when
// visible) is cross-checked: a contradiction is a vitrt::Error naming the field, both values and
// where each came from; a name guessed from the path is dropped instead (noted).
VitConfig resolve_vit_config(const std::map<std::string, Shape>& shapes, VitHints& hints);

}  // namespace vitrt
