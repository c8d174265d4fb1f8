// Linear layers with integer weights on the CPU (w8a8, w8a8-dynamic, w8, w4).
//
//   w8a8-dynamic  activations quantized per token to s8 (quant/act_quant.hpp), oneDNN s8 x s8
//                 matmul with int32 accumulation; epilogue as post-ops: runtime output scales per
//                 N (the weight scales), binary_mul by the {M, 1} token scales, binary_add bias
//                 (oneDNN v2 would add an int8 matmul's bias before the scales), eltwise, sum.
//   w8a8          activations quantized per tensor to u8 with the weight's act_scale and zero
//                 point (a runtime src zero point), oneDNN u8 x s8 matmul; output scales
//                 act_scale * w_scale[n], then bias, eltwise, sum as above.
//   w8, w4        weight-only: the int weight (group-wise scales) is dequantized per call into a
//                 scratch f32 [N, K] (sized once) and run through the f32 oneDNN matmul, so the
//                 result is the f32 GEMM on q * scale. Storage stays int.
// Without VNNI (oneDNN limited to AVX2 or AVX512_CORE) oneDNN's int8 kernels multiply u8 x s8
// pairs with vpmaddubsw, whose int16 sums saturate: w8a8 then runs an exact fallback instead
// (quantized activations and weights dequantized to f32, f32 matmul; the same numbers up to f32
// rounding) and description() says so.
// Weights are reordered once into oneDNN's blocked layout; primitives are cached per (M, N, K,
// fusion, precision) with their argument memories; scratch buffers grow on the first run of a
// shape only, so a planned forward allocates nothing. Not thread-safe: one instance per engine.
// Reference twin: RefOps::linear (exact integer arithmetic); tests: tests/ops/test_ops.cpp
// (targets cpu_w8a8*, cpu_w8, cpu_w4; ctest Isa.Avx2Int8 runs them limited to AVX2); bench:
// tests/ops/test_gemm_int8_bench.cpp (DISABLED_, run with --gtest_also_run_disabled_tests).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backends/cpu/gemm_onednn.hpp"
#include "ops/prepared_weight.hpp"

namespace vitrt::cpu {

struct QuantWeight;  // integer storage (+ oneDNN blocked layout for the int8 GEMMs)

class OnednnQuantGemm {
public:
    OnednnQuantGemm();
    ~OnednnQuantGemm();
    // True when w8a8 runs oneDNN's int8 kernels (VNNI: AVX512_VNNI or AVX-VNNI in oneDNN's ISA).
    static bool int8_native();
    // "int8 GEMMs: oneDNN VNNI" or "int8 GEMMs: exact fallback (no VNNI)".
    static std::string description();
    // q must have passed validate_quantized.
    std::shared_ptr<QuantWeight> pack(const QuantizedWeight& q);
    // y[M, N] = (accumulate ? y : 0) + act(x[M, K] W^T + bias); f32 GEMMs go through `f32`.
    void run(const float* x, int64_t M, const QuantWeight& w, const float* bias, Activation act, bool accumulate,
             float* y, OnednnGemm& f32);
    // Bytes of the weight as stored (tests check the memory promise of w8 / w4).
    static size_t stored_bytes(const QuantWeight& w);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vitrt::cpu
