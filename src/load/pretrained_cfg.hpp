// What a checkpoint's config.json (timm hub layout, transformers) and safetensors metadata say
// about the model, shared by the ViT and FastViT loaders: architecture name, timm model kwargs,
// preprocessing (timm's pretrained_cfg) and class names.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/image.hpp"
#include "io/model_source.hpp"

namespace vitrt {

// Overrides p with the fields the source's timm pretrained_cfg sets (input_size, interpolation,
// crop_pct, crop_mode, mean, std). Returns false when there is no timm pretrained_cfg. Every value
// is validated: vitrt::Error naming the field ("pretrained_cfg.crop_pct must be ...").
bool apply_timm_pretrained_cfg(const ModelSource& src, image::PreprocessConfig& p);

// The same for a transformers preprocessor_config.json (ViTImageProcessor: resize to size;
// DeiTImageProcessor: resize to size, centre-crop crop_size): size, crop_size, resample,
// image_mean, image_std. Returns false when the source has none.
bool apply_transformers_preprocessor(const ModelSource& src, image::PreprocessConfig& p, std::vector<std::string>& notes);

// An architecture name and where it was found, for messages ("--arch", "config.json architecture").
struct ArchitectureName {
    std::string name;         // "" if none
    std::string source;
    bool from_path = false;   // only a guess from a file name: tensors that contradict it overrule it
};

// The architecture name from the most explicit source: `explicit_arch` (--arch), config.json's
// "architecture", the metadata's "model", or a file/directory name whose part before the first
// '.' `known` accepts (e.g. vit_base_patch16_224.augreg_in21k.safetensors; noted).
ArchitectureName architecture_name(const ModelSource& src, const std::string& explicit_arch,
                                   const std::function<bool(const std::string&)>& known, std::vector<std::string>& notes);

// timm's model kwargs: config.json's model_args, overridden by the metadata's create_model_kwargs
// (a JSON object; anything else is an error naming the file), plus config.json's top-level
// num_classes (timm hub configs) unless the kwargs set it. `sources`, when given, receives where
// each key came from ("config.json model_args.depth", ...), for messages that name it.
nlohmann::json timm_model_args(const ModelSource& src, std::map<std::string, std::string>* sources = nullptr);

// Class names from config.json (timm label_names, transformers id2label) when they cover exactly
// `classes` classes; empty otherwise (transformers' LABEL_0.. placeholders count as none).
std::vector<std::string> labels_from(const ModelSource& src, int64_t classes);

}  // namespace vitrt
