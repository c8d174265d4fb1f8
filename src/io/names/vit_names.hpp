// Checkpoint naming schemes of the ViT family, mapped to timm's state-dict names (the names the
// model code reads). One table per source format; shape conversions (Google's HWIO / [D, H, hd]
// kernels, transformers' separate q/k/v) happen here, once, at load.
#pragma once

#include <map>
#include <string>

#include "io/checkpoint.hpp"

namespace vitrt {

enum class VitNaming { timm, transformers, google_npz, torchvision, unknown };
const char* vit_naming_name(VitNaming n);

VitNaming detect_vit_naming(const Checkpoint& ckpt);

// Returns the checkpoint's tensors under timm names. Throws vitrt::Error naming the missing or
// misshapen source tensor. Tensors with no timm equivalent keep their source name, so that the
// model reports them as unused.
std::map<std::string, HostTensor> vit_tensors_as_timm(const Checkpoint& ckpt, VitNaming naming);

}  // namespace vitrt
