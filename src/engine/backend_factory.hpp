// Backend selection by name. The only place that lists backends.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ops/ops.hpp"

namespace vitrt {

struct BackendOptions {
    int threads = 0;  // cpu: OpenMP threads, 0 = all cores
    // Precision of the weightless ops (attention): f32 or bf16 on cpu; the cuda backend's compute
    // precision (f32, tf32, f16, bf16). Weights carry their own precision (ops/precision_policy.hpp).
    Precision activations = Precision::f32;
};

// "ref" (scalar oracle, single thread, f32 only), "cpu" (oneDNN GEMMs + own kernels) or "cuda"
// (the libvitrt_cuda.so plugin). Unknown names and unsupported combinations throw vitrt::Error
// listing what is available; a cuda backend that cannot start (no plugin, no GPU) throws
// vitrt::DeviceUnavailable.
std::unique_ptr<Ops> make_backend(const std::string& name, const BackendOptions& options = {});
std::vector<std::string> backend_names();

}  // namespace vitrt
