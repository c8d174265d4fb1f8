// ViT / DeiT (Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021; Touvron et al.,
// "Training data-efficient image transformers", ICML 2021), matching timm's VisionTransformer and
// VisionTransformerDistilled (timm/models/vision_transformer.py, deit.py) in eval mode.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "io/weight_reader.hpp"
#include "models/model.hpp"
#include "load/weight_preparer.hpp"
#include "models/vit_config.hpp"
#include "models/pos_embed.hpp"

namespace vitrt {

// reader: timm-named host tensors (any supported dtype). Every tensor the config needs must be
// there with the right shape, and every tensor must be used: otherwise vitrt::Error lists them.
// prep: turns them into backend weights, in the precision its policy gives each.
// image_h/w: resolution to run at; the position embedding is resampled (bicubic, as timm's
// resample_abs_pos_embed) when it differs from the checkpoint's.
std::unique_ptr<Model> make_vit(const VitConfig& cfg, WeightReader& reader, WeightPreparer& prep, int64_t image_h,
                                int64_t image_w, ModelDescription desc);

}  // namespace vitrt
