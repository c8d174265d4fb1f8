// 2-D convolutions on the CPU through oneDNN (f32, channels-last NHWC activations): dense,
// grouped and depthwise, with bias, activation and residual fused (eltwise and sum post-ops).
// One primitive per (shape, geometry, fusion) is created on first use and cached with its
// argument memories; the kernel is reordered into the primitive's blocked layout on first use and
// kept with the weight, so a planned forward allocates nothing after its first run. Not
// thread-safe: one instance per engine.
// Reference twin: RefOps::conv2d; tests: tests/test_backend_ops_conv.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ops/op_options.hpp"

namespace vitrt::cpu {

// A conv kernel as the cpu backend keeps it (Tensor::packed of a WeightRole::conv weight).
struct ConvWeight {
    int64_t O = 0, Ig = 0, KH = 0, KW = 0;  // [O, Cin / groups, kh, kw]
    std::vector<float> oihw;                // plain copy (oneDNN reorders from it)
    std::vector<float> hwo;                 // [kh, kw, O] for the own channelwise kernel (Ig == 1)
    struct Packed;                          // oneDNN layouts made so far (conv_onednn.cpp)
    std::shared_ptr<Packed> packed;
};

// Convolution geometry + fusion for one call (x: [B, H, W, C] NHWC, y: [B, Ho, Wo, O]).
struct ConvCall {
    int64_t B = 0, H = 0, W = 0, C = 0, Ho = 0, Wo = 0;
    int64_t stride = 1, pad = 0, groups = 1;
    const float* bias = nullptr;
    Activation act = Activation::none;
    bool accumulate = false;  // y += ... (the residual has been copied into y)
};

class OnednnConv {
public:
    OnednnConv();
    ~OnednnConv();
    static std::shared_ptr<ConvWeight> make_weight(const float* oihw, int64_t O, int64_t Ig, int64_t KH, int64_t KW);
    void run(const float* x, const ConvWeight& w, const ConvCall& c, float* y);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vitrt::cpu
