// Weight preparation for the cuda backend: what prepare_weight() uploads, and in which layout.
//   linear [N, K]: converted to the compute dtype, row-major as given (cuBLASLt's "TN" GEMM);
//   conv [O, Cin/g, kh, kw]: repacked to OHWI in the compute dtype (NHWC im2col / direct kernel);
//   param (biases, norms, tokens, position embeddings): f32, plus a compute-dtype copy for 16-bit
//   backends (cuBLASLt's bias epilogue wants the output's dtype).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ops/ops.hpp"

namespace vitrt::cuda {

struct CudaWeight final : PreparedWeight {
    using PreparedWeight::PreparedWeight;
    std::shared_ptr<void> data;  // linear [N, K] / conv OHWI in the compute dtype; param f32
    std::shared_ptr<void> half;  // param only: a copy in half_type, or null
    DType half_type = DType::f32;
    int64_t O = 0, Ig = 0, KH = 0, KW = 0;  // conv
};

// Device memory holding `bytes` (uploaded in order with the backend's stream).
using DeviceUpload = std::function<std::shared_ptr<void>(const std::vector<char>& bytes, const char* what)>;

// The prepared tensor for `owner` (a backend computing in `compute`); the caller has checked that
// spec.precision is supported.
Tensor prepare_cuda_weight(const Ops* owner, const HostTensor& w, const WeightSpec& spec, DType compute,
                           const DeviceUpload& upload);

// t's CudaWeight when `owner` prepared it (any role), else null (plain device tensors).
inline const CudaWeight* cuda_weight(const Tensor& t, const Ops* owner) {
    const PreparedWeight* p = t.prepared.get();
    return p && p->owner == owner ? static_cast<const CudaWeight*>(p) : nullptr;
}

}  // namespace vitrt::cuda
