// Linear layers on the CPU through oneDNN matmul (f32), with bias, activation, per-column scale
// and residual fused as post-ops. Weights are repacked once into oneDNN's blocked layout; one
// primitive per (M, N, K, fusion) is created on first use and cached, with its argument memories,
// so a planned forward allocates nothing. Not thread-safe: one instance per engine.
// Reference twin: RefOps::linear; tests: tests/test_backend_ops.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "models/ops.hpp"

namespace vitrt::cpu {

struct PackedWeight;

// "oneDNN 2.6.3, ISA avx512_core": the library version and the instruction set it dispatches to.
std::string onednn_description();  // oneDNN memory in the layout the matmul primitives want

class OnednnGemm {
public:
    OnednnGemm();
    ~OnednnGemm();
    // w: [N, K] row-major f32. The returned handle is stored in Tensor::packed.
    std::shared_ptr<PackedWeight> pack(const float* w, int64_t N, int64_t K);
    // y[M, N] = (residual ? y : 0) + scale * act(x[M, K] W^T + bias); residual is read from y.
    void run(const float* x, int64_t M, const PackedWeight& w, const float* bias, Activation act,
             const float* scale, bool accumulate, float* y);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vitrt::cpu
