// Device-side element types: f32 / f16 / bf16 loads and stores through f32, activations, and a
// host-side dispatch from vitrt::DType to the C++ element type. Shared by the .cu files only.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <string>

#include "core/tensor.hpp"
#include "ops/op_options.hpp"

namespace vitrt::cuda {

template <class T> __device__ __forceinline__ float to_f32(T v);
template <> __device__ __forceinline__ float to_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ float to_f32<__half>(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float to_f32<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T> __device__ __forceinline__ T from_f32(float v);
template <> __device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_f32<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Exact (erf) GELU, as PyTorch's nn.GELU() default and the ref backend.
__device__ __forceinline__ float act_f32(Activation a, float x) {
    switch (a) {
        case Activation::none: return x;
        case Activation::gelu_erf: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
        case Activation::relu: return x > 0.f ? x : 0.f;
        case Activation::sigmoid: return 1.f / (1.f + expf(-x));
    }
    return x;
}

// Calls f(T{}) with T the element type of dt.
template <class F> void dispatch_dtype(DType dt, F&& f) {
    switch (dt) {
        case DType::f32: f(float{}); return;
        case DType::f16: f(__half{}); return;
        case DType::bf16: f(__nv_bfloat16{}); return;
    }
    throw Error("cuda: unknown dtype");
}

inline unsigned blocks_for(int64_t n, int threads) { return unsigned((n + threads - 1) / threads); }

}  // namespace vitrt::cuda
