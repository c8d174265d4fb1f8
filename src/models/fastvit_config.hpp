// FastViT architecture description, read from a checkpoint's tensor names and shapes (both the
// train-time and timm's reparameterized form), and timm's registry of named variants.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>


#include "core/tensor.hpp"
#include "image/image.hpp"

namespace vitrt {

struct FastVitStageConfig {
    int64_t dim = 0;         // embed dim of the stage (output of its downsample)
    int64_t depth = 0;       // blocks
    int64_t mlp_hidden = 0;  // ConvFFN hidden width (dim * mlp_ratio)
    bool attention = false;  // AttentionBlock (MHSA) instead of RepMixerBlock
    bool downsample = false; // PatchEmbed at the start of the stage
    int64_t down_kernel = 7; // PatchEmbed's large kernel (timm down_patch_size)
    int64_t pos_kernel = 0;  // RepConditionalPosEnc kernel, 0 = none
    int64_t mixer_kernel = 3;  // RepMixer kernel (timm repmixer_kernel_size)
    int64_t mlp_kernel = 7;    // ConvFFN depthwise kernel
};

struct FastVitConfig {
    std::string name;  // timm architecture name when known, else ""
    int64_t in_chans = 3;
    int64_t stem_dim = 0;
    std::vector<FastVitStageConfig> stages;
    int64_t num_features = 0;  // final_conv output width (embed_dims[-1] * cls_ratio)
    int64_t se_hidden = 0;     // final_conv squeeze-excite width
    int64_t num_classes = 0;   // 0: no head (pooled features out)
    // Not stored in checkpoints: timm's fixed values for every FastViT variant.
    int64_t head_dim = 32;     // Attention(head_dim=32)
    int64_t down_stride = 2;   // PatchEmbed stride
    double bn_eps = 1e-5;      // nn.BatchNorm2d default
};

// "2, 2, 4, 2": a list for `vitrt info`.
std::string fastvit_list(const std::vector<int64_t>& v);

// Output size of a convolution along one axis.
inline int64_t conv_out(int64_t in, int64_t k, int64_t stride, int64_t pad) { return (in + 2 * pad - k) / stride + 1; }

}  // namespace vitrt
