// f16 instances of the tensor-core flash attention (attention_flash_tc.cuh).
#include "backends/cuda/attention_flash_tc.cuh"

namespace vitrt::cuda {

void attention_tc_f16_launch(const AttentionParams& p, cudaStream_t s) {
    check(p.io_type == DType::f32 || p.io_type == DType::f16, "cuda attention: f16 kernel needs f32 or f16 qkv");
    attn_tc::launch<__half>(p, s);
}

}  // namespace vitrt::cuda
