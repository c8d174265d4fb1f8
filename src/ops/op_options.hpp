// What an op is asked to do beyond its inputs: activations, weight roles and fusion options.
// Fusion is an options struct, not a new op name: the reference backend decomposes it, fast
// backends fuse it.
#pragma once

#include "core/tensor.hpp"

namespace vitrt {

enum class Activation { none, gelu_erf, relu, sigmoid };

// What a weight is used for; lets a backend pick its layout at load.
enum class WeightRole {
    linear,  // [N, K] matrix of a linear layer
    param,   // vectors and small tensors used as-is (biases, norms, tokens, embeddings)
    conv,    // [O, Cin / groups, kh, kw] (PyTorch layout) kernel of conv2d
};
const char* role_name(WeightRole r);

// y = residual + act(x W^T + bias).
struct LinearOpts {
    const Tensor* bias = nullptr;      // [N], f32
    Activation act = Activation::none;
    const Tensor* residual = nullptr;  // [M, N], added last; may alias y
};

// conv2d fusion and geometry: y = residual + act(conv(x, w) + bias).
struct Conv2dOpts {
    int stride = 1;
    int pad = 0;                       // zero padding, the same on all four sides
    int groups = 1;                    // Cin and O divisible by groups; depthwise: groups = Cin
    const Tensor* bias = nullptr;      // [O]
    Activation act = Activation::none;
    const Tensor* residual = nullptr;  // [B, Ho, Wo, O]; may alias y, never x
};

}  // namespace vitrt
