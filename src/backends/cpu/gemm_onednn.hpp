// Linear layers on the CPU through oneDNN matmul, with bias, activation, per-column scale and
// residual fused as post-ops. Precisions: f32 (weights and activations f32) and bf16 (weights
// stored bf16; activations rounded to bf16 on the way in, f32 accumulation and output).
// Weights are repacked once into oneDNN's blocked layout; one primitive per (M, N, K, fusion) is
// created on first use and cached with its argument memories, so a planned forward allocates
// nothing. Not thread-safe: one instance per engine.
// Reference twin: RefOps::linear; tests: tests/test_backend_ops.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "models/ops.hpp"

namespace vitrt::cpu {

struct PackedWeight;  // oneDNN memory in the layout the matmul primitives want

// "oneDNN 2.6.3, ISA avx512_core": the library version and the instruction set it dispatches to.
std::string onednn_description();
// True when the CPU has native bf16 dot products (AVX512-BF16 or AMX).
bool cpu_has_native_bf16();

class OnednnGemm {
public:
    // precision: DType::f32 or DType::bf16 (vitrt::Error if the CPU lacks native bf16).
    explicit OnednnGemm(DType precision);
    ~OnednnGemm();
    // w: [N, K] row-major f32. The returned handle is stored in Tensor::packed.
    std::shared_ptr<PackedWeight> pack(const float* w, int64_t N, int64_t K);
    // y[M, N] = (accumulate ? y : 0) + scale * act(x[M, K] W^T + bias).
    void run(const float* x, int64_t M, const PackedWeight& w, const float* bias, Activation act,
             const float* scale, bool accumulate, float* y);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vitrt::cpu
