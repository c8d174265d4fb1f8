// FastViT (Vasu, Gabriel, Zhu, Tuzel, Ranjan: "FastViT: A Fast Hybrid Vision Transformer using
// Structural Reparameterization", ICCV 2023, arXiv 2303.14189), matching timm's FastVit
// (timm/models/fastvit.py, v1.0) in eval mode, run in its reparameterized (inference) form:
//   stem:   MobileOne 3x3/2 (3 -> C0), 3x3/2 depthwise, 1x1; GELU after each
//   stage i (i > 0 downsamples): PatchEmbed = large-kernel 7x7/2 conv (channel multiplier
//           C_i / C_{i-1}), then 1x1 MobileOne + GELU; RepCPE (7x7 depthwise, identity folded)
//           where the stage has one; then blocks:
//     RepMixerBlock:  x = dwconv3x3(x)                (= x + gamma (mixer(x) - norm(x)), folded)
//                     x = x + gamma * ConvFFN(x)
//     AttentionBlock: x = x + gamma1 * proj(MHSA(qkv(BN(x))))     (BN folded into qkv; head dim 32)
//                     x = x + gamma2 * ConvFFN(x)
//     ConvFFN(x) = fc2(GELU(fc1(BN(dwconv7x7(x)))))  (BN folded into the depthwise conv)
//   final_conv: MobileOne 3x3 (C -> 2C, channel multiplier 2) with squeeze-excite, GELU;
//   head: global average pool, Linear.
// Activations are channels-last (NHWC) throughout, so 1x1 convs are Ops::linear over [B*H*W, C]
// and attention runs on [B, H*W, C] tokens directly. Train-time branches are folded at load
// (fastvit_reparam.hpp); the forward is the same for both checkpoint forms.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "models/fastvit_config.hpp"
#include "models/fastvit_reparam.hpp"
#include "models/model.hpp"
#include "load/weight_preparer.hpp"

namespace vitrt {

// image_h/w: resolution to run at (any size the strided convs reduce to >= 1 pixel).
std::unique_ptr<Model> make_fastvit(const FastVitConfig& cfg, FastVitWeights weights, WeightPreparer& prep, int64_t image_h,
                                    int64_t image_w, ModelDescription desc);

// For tests and debugging: called during forward() with the output of "stem", "stage0" ...
// "stage<N-1>" and "final_conv" (after squeeze-excite and GELU), as NHWC [n, H, W, C] views of
// backend memory holding images [first_image, first_image + n) of the batch (the forward runs
// the batch in chunks of images), valid during the call. Returns false (and does nothing) for
// other models.
using FastVitStageHook = std::function<void(const std::string& stage, int64_t first_image, const Tensor& nhwc)>;
bool set_fastvit_stage_hook(Model& model, FastVitStageHook hook);

}  // namespace vitrt
