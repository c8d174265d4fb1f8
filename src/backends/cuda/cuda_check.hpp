// CUDA / cuBLASLt status checks that turn failures into vitrt::Error (never abort).
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "vitrt/error.hpp"

namespace vitrt::cuda {

inline void check_cuda(cudaError_t e, const char* what) {
    if (e != cudaSuccess)
        throw Error(std::string("cuda: ") + what + " failed: " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

// After a kernel launch: configuration errors (bad grid, too much shared memory) surface here.
inline void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

}  // namespace vitrt::cuda

#define VITRT_CUDA_CHECK(call) ::vitrt::cuda::check_cuda((call), #call)
// Argument checks on hot paths: the message (often built with std::string) is evaluated only when
// the check fails, so a call that passes builds no string.
#define VITRT_CUDA_REQUIRE(cond, msg)          \
    do {                                      \
        if (!(cond)) throw ::vitrt::Error(msg); \
    } while (0)
