// timm's pretrained_cfg (config.json of the hub layout) applied to a preprocessing config.
#pragma once

#include "image/image.hpp"
#include "io/model_source.hpp"

namespace vitrt {

// Overrides p with the fields the source's timm pretrained_cfg sets (input_size, interpolation,
// crop_pct, crop_mode, mean, std). Returns false when there is no timm pretrained_cfg.
bool apply_timm_pretrained_cfg(const ModelSource& src, image::PreprocessConfig& p);

}  // namespace vitrt
