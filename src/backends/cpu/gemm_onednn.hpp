// Linear layers on the CPU through oneDNN matmul, with bias, activation and
// residual fused as post-ops. Precision per weight: f32 (weights and activations f32) or bf16
// (weights stored bf16; activations rounded to bf16 on the way in, f32 accumulation and output).
// Weights are repacked once into oneDNN's blocked layout; one primitive per (M, N, K, fusion) is
// created on first use and cached with its argument memories, so a planned forward allocates
// nothing. Not thread-safe: one instance per engine.
// Reference twin: RefOps::linear; tests: tests/test_backend_ops.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ops/op_options.hpp"

namespace vitrt::cpu {

struct PackedWeight;  // oneDNN memory in the layout the matmul primitives want

// "oneDNN 2.6.3, ISA avx512_core": the library version and the instruction set it dispatches to.
std::string onednn_description();
// True when the CPU has native bf16 dot products (AVX512-BF16 or AMX).
bool cpu_has_native_bf16();

class OnednnGemm {
public:
    OnednnGemm();
    ~OnednnGemm();
    // w: [N, K] row-major f32, stored as `storage` (f32, or bf16: vitrt::Error if the CPU lacks
    // native bf16).
    std::shared_ptr<PackedWeight> pack(const float* w, int64_t N, int64_t K, DType storage);
    // y[M, N] = (accumulate ? y : 0) + act(x[M, K] W^T + bias).
    void run(const float* x, int64_t M, const PackedWeight& w, const float* bias, Activation act, bool accumulate,
             float* y);
    // The same with a plain row-major f32 weight w [N, K] (not packed; the weight-only integer
    // precisions dequantize into a scratch buffer and call this).
    void run_plain(const float* x, int64_t M, const float* w, int64_t N, int64_t K, const float* bias, Activation act,
                   bool accumulate, float* y);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vitrt::cpu
