// GEMMs through cuBLASLt with fused epilogues, for row-major activations and PyTorch-layout weights:
//   D[M, N] = act(A[M, K] W[N, K]^T + bias[N]) + C[M, N]      (C = the residual, beta = 1)
// Row-major D is column-major D^T, so the call is the "TN" column-major product D^T = W^T' X' that
// cuBLASLt serves best (bias is then per row of D^T, i.e. per output feature, as cuBLASLt wants).
//
// Types: A and W share one type (f32, f16 or bf16); D and C f32 or A's type (cuBLASLt has no
// f32-operand -> f16-output kernels); bias has D's type (cuBLASLt's rule). Compute f32, or TF32
// tensor cores when asked (precision "tf32"). Epilogues: none and ReLU (each with or without bias).
// cuBLASLt's GELU epilogue is deliberately not offered: it is the tanh approximation, and vitrt
// matches PyTorch's exact erf-GELU (gemm_epilogue.cu). C and D share one layout descriptor, as
// cuBLASLt requires for the in-place residual (C == D).
//
// Algorithm choice: cublasLtMatmulAlgoGetHeuristic's first answer, cached in memory per shape, dtype,
// epilogue and pointer alignment (one heuristic query per distinct GEMM per process).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "core/tensor.hpp"

namespace vitrt::cuda {

enum class GemmEpilogue { none, relu };

struct GemmParams {
    const void* a = nullptr;  // [M, K] row-major activations
    const void* w = nullptr;  // [N, K] row-major weights
    DType ab_type = DType::f32;
    void* d = nullptr;        // [M, N]
    DType d_type = DType::f32;
    const void* c = nullptr;  // [M, N] residual in d_type (may equal d) or null
    const void* bias = nullptr;  // [N] in d_type or null
    GemmEpilogue epilogue = GemmEpilogue::none;
    int64_t M = 0, N = 0, K = 0;
    bool tf32 = false;  // f32 operands on TF32 tensor cores
};

class CublasLtGemm {
public:
    CublasLtGemm();
    ~CublasLtGemm();
    CublasLtGemm(const CublasLtGemm&) = delete;
    CublasLtGemm& operator=(const CublasLtGemm&) = delete;

    // Type combination supported (shape checks are the caller's).
    static bool can_run(const GemmParams& p);
    // Host work (descriptors, heuristic; cached per key). nullptr when cuBLASLt's heuristic offers no
    // algorithm for this combination (the caller then picks another formulation, explicitly).
    struct Plan;
    const Plan* plan(const GemmParams& p);
    void launch(const Plan* plan, const GemmParams& p, cudaStream_t s);
    std::string version() const;

private:
    cublasLtHandle_t handle_ = nullptr;
    void* workspace_ = nullptr;
    size_t workspace_bytes_ = 0;
    std::map<std::tuple<int64_t, int64_t, int64_t, int, int, int, int, int, int, int>, std::unique_ptr<Plan>> plans_;
};

}  // namespace vitrt::cuda
