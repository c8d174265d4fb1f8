// bf16 instances of the tensor-core flash attention (attention_flash_tc.cuh).
#include "backends/cuda/attention_flash_tc.cuh"

namespace vitrt::cuda {

void attention_tc_bf16_launch(const AttentionParams& p, cudaStream_t s) {
    check(p.io_type == DType::f32 || p.io_type == DType::bf16, "cuda attention: bf16 kernel needs f32 or bf16 qkv");
    attn_tc::launch<__nv_bfloat16>(p, s);
}

}  // namespace vitrt::cuda
