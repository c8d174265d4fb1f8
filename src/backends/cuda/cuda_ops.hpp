// The cuda backend: the Ops interface on one NVIDIA GPU (sm_80 or newer), so the same model code,
// loaders, CLI and tests run with `--device cuda`.
//
// Precision (make_backend's token): f32 (plain f32 GEMMs, no TF32), tf32 (f32 storage, TF32 tensor
// cores in the GEMMs), f16, bf16. prepare_weight() converts and uploads every linear / conv weight
// once, in the compute dtype (weight_prepare.hpp); parameters (biases, norms, tokens, position embeddings) stay f32 on
// the device, with a compute-dtype copy of each for cuBLASLt's bias epilogue.
//
// Dtype at the Ops boundary: every op honours Tensor::dtype. Each activation tensor is read and
// written in the dtype its Tensor declares (f32, f16 or bf16), and kernels convert on load/store
// with f32 arithmetic inside. The engine's input image and logits are f32 tensors, so they cross the
// boundary untouched. A linear whose input is not in the compute dtype gets it converted into a
// backend scratch buffer first (cuBLASLt needs A and W in one type); its output may be f32 (then no
// rounding) or the compute dtype. So a model that allocates all activations as f32 (vit.cpp today)
// runs correctly in every precision, with the residual stream in f32, but pays one conversion pass
// per GEMM input; a model that allocates its GEMM inputs (LayerNorm outputs, qkv, attention
// output, MLP hidden) in the compute dtype pays none. Nothing is reinterpreted behind a Tensor's
// back: a tensor downloaded by anyone holds the dtype it says.
//
// GELU is exact (erf), as PyTorch / timm compute it, in every precision: cuBLASLt's GELU epilogue is
// the tanh approximation, so a GELU linear is the GEMM with the bias epilogue plus an erf-GELU pass
// (op_adapters_gemm.cpp); details() says so. Sigmoid likewise; an activation with a residual runs
// as one unfused pass (bias + act + residual) after a plain GEMM.
// Attention: tensor-core flash attention for f16/bf16 with head dims 32/64/80/96/128; the f32
// CUDA-core flash kernel for f32/tf32 and for other head dims (any <= 256, more accurate, not
// silent: details() says so).
//
// Execution and CUDA graphs (launch_queue.hpp): ops do not launch when called. Each call checks its
// arguments at once (errors are thrown at the call) and appends a launch with a binary key. The
// queue runs at synchronize() or download() (and before an upload from the host): the first time a
// key sequence is seen it runs eagerly; the second time it is captured as a CUDA graph; from then
// on the graph is replayed. For the engine a sequence is one forward of one plan (batch,
// resolution), whose arena pointers are fixed: run 1 eager, run 2 captured, every later run one
// cudaGraphLaunch (scratch that grows in run 1 does not delay this). What a queued launch reads
// from prepared weights is kept alive until the stream has run it. VITRT_CUDA_GRAPHS=0 launches
// every op at its call instead (debugging); Ops::set_graph_capture(false) does the same while
// profiling (`vitrt bench --profile`).
//
// Transfers: upload() from host memory goes through two pinned 8 MiB staging buffers (host memcpy
// of one chunk overlaps the DMA of the other); download() likewise in reverse. Device-to-device
// copies (an upload whose source is device memory) are queued like ops. Weights are uploaded the
// same way, on the compute stream.
//
// Creation fails with vitrt::DeviceUnavailable ("no CUDA device: ...") when the runtime finds no
// usable GPU (no driver, no device, insufficient driver) or the GPU is older than sm_80.
//
// Files: cuda_backend.hpp lists them (queue, transfers, weights, op adapters); kernels.hpp the kernels.
#pragma once

#include <memory>
#include <string>

#include "ops/ops.hpp"

namespace vitrt {

// precision: f32 | fp32 | tf32 | f16 | fp16 | bf16.
std::unique_ptr<Ops> make_cuda_ops(const std::string& precision);

}  // namespace vitrt
