// FastViT structural reparameterization at load time (host math, in double): every train-time
// multi-branch module becomes one convolution with bias, exactly as timm's reparameterize_model,
// and the BatchNorms timm leaves in its inference_mode form are folded too:
//   MobileOneBlock          sum_j BN(conv_kxk.j) + BN(conv_scale, 1x1 padded) + BN(identity)
//   ReparamLargeKernelConv  BN(large_conv) + BN(small_conv, padded)
//   RepMixer                x + gamma * (mixer(x) - norm(x))  ->  id + gamma * (W_mixer - W_norm)
//   RepConditionalPosEnc    x + pos_enc(x)                    ->  id + W_pos_enc
//   ConvMlp.conv            BN(dwconv)                        ->  conv with bias
//   AttentionBlock.norm     BN before qkv (no bias)           ->  qkv weight * scale, bias = W shift
//   LayerScale gammas       gamma * (W h + b) of proj / fc2   ->  rows of W and b scaled (a plain
//                           linear: no per-column scale post-op, which oneDNN 2.6 runs on its
//                           reference matmul when limited to AVX2)
// Either checkpoint form (or a mix, per module) gives the same folded weights. Every tensor is
// checked by name and shape; a missing branch tensor or inconsistent width is an Error naming it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "models/fastvit_config.hpp"

namespace vitrt {

// One folded convolution: w [O, Cin / groups, k, k], b [O], f32 on the host.
struct FoldedConv {
    HostTensor w, b;
    int64_t groups = 1, stride = 1, pad = 0;
};

struct FastVitBlockWeights {
    bool attention = false;
    FoldedConv mixer;                                 // RepMixer: depthwise k x k
    HostTensor qkv_w, qkv_b, proj_w, proj_b;          // attention ([3D, D] with the norm folded in;
                                                      // proj scaled by layer_scale_1)
    FoldedConv mlp_conv;                              // ConvFFN depthwise 7x7, BN folded
    HostTensor fc1_w, fc1_b, fc2_w, fc2_b;            // [hidden, D], [D, hidden] (fc2 scaled by the
                                                      // block's ConvFFN layer scale)
};

struct FastVitStageWeights {
    bool downsample = false;
    FoldedConv down_conv;   // large kernel, stride 2, groups = Cin
    FoldedConv down_proj;   // 1x1 MobileOne (GELU)
    bool pos = false;
    FoldedConv pos_conv;    // RepCPE depthwise
    std::vector<FastVitBlockWeights> blocks;
};

struct FastVitWeights {
    FoldedConv stem[3];
    std::vector<FastVitStageWeights> stages;
    FoldedConv final_conv;
    HostTensor se_fc1_w, se_fc1_b, se_fc2_w, se_fc2_b;  // [R, F], [F, R]
    HostTensor head_w, head_b;                          // [K, F]; empty without a head

    // What was folded, for `vitrt info`.
    int train_modules = 0;     // multi-branch modules folded from their train-time branches
    int reparam_modules = 0;   // modules read as timm's reparam_conv
    int branches = 0;          // branches merged (conv_kxk, conv_scale, identity, small_conv, ...)
    int branch_batchnorms = 0; // BatchNorms inside those branches
    int mlp_batchnorms = 0;    // ConvMlp.conv.bn (timm leaves these unfolded)
    int attn_batchnorms = 0;   // AttentionBlock.norm (timm leaves these unfolded)
    int layer_scales = 0;      // LayerScale gammas folded into proj / fc2
};

// Folds `tensors` (timm names, either form) for `cfg`. Throws vitrt::Error naming a missing or
// misshapen tensor, or listing tensors the configuration does not use.
FastVitWeights fold_fastvit(const FastVitConfig& cfg, const std::map<std::string, HostTensor>& tensors);

}  // namespace vitrt
