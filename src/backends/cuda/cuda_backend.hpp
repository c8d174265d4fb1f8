// The cuda backend's Ops class, shared by the files that implement it (design in cuda_ops.hpp):
//   cuda_ops.cpp          construction, details, weights, memory and transfers;
//   op_adapters_gemm.cpp  linear and conv2d (cuBLASLt GEMMs and their epilogues);
//   op_adapters.cpp       the ops served by the backend's own kernels (kernels.hpp);
//   launch_queue.*        the launch queue and CUDA-graph cache; device_memory.* staging transfers;
//   weight_prepare.*      what prepare_weight() uploads.
#pragma once

#include <cuda_runtime_api.h>

#include <bit>
#include <map>
#include <memory>
#include <string>

#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/device_memory.hpp"
#include "backends/cuda/gemm_cublaslt.hpp"
#include "backends/cuda/kernels.hpp"
#include "backends/cuda/launch_queue.hpp"
#include "backends/cuda/weight_prepare.hpp"
#include "ops/ops.hpp"

namespace vitrt::cuda {

// Launch-key words (launch_queue.hpp): everything that reaches the GPU, as 64-bit values.
inline uint64_t u(const void* p) { return uint64_t(reinterpret_cast<uintptr_t>(p)); }
inline uint64_t u(float f) { return std::bit_cast<uint32_t>(f); }
inline uint64_t u(int64_t v) { return uint64_t(v); }
inline uint64_t u(DType t) { return uint64_t(t); }
inline uint64_t u(Activation a) { return uint64_t(a); }

enum OpKey : uint64_t { kGemm = 1, kConvert, kEpilogue, kLayerNorm, kAttention, kPatchify, kAssemble, kPool, kConvDirect,
                        kIm2col, kChannelsLast, kScaleChannels, kCopy };

class CudaOps final : public Ops {
public:
    CudaOps(DType compute, bool tf32);
    ~CudaOps() override;

    std::string name() const override { return "cuda"; }
    std::string details() const override;

    // --- load time, memory, transfers (cuda_ops.cpp) ----------------------------------------------
    bool supports(Precision p, WeightRole role) const override;
    Tensor prepare_weight(const HostTensor& w, const WeightSpec& spec) override;
    std::shared_ptr<void> allocate(size_t bytes) override { return device_alloc(bytes, "activations"); }
    void copy(const Tensor& src, const Tensor& dst) override;
    void upload(void* dst, const void* src, size_t n) override;
    void download(void* dst, const void* src, size_t n) override;
    void synchronize() override;
    void set_graph_capture(bool on) override { queue_->set_graphs(on); }

    // --- GEMM ops (op_adapters_gemm.cpp) ----------------------------------------------------------
    void linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) override;
    void conv2d(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dOpts& o) override;

    // --- own kernels (op_adapters.cpp) ------------------------------------------------------------
    void layernorm(const Tensor& x, const Tensor& g, const Tensor& b, float eps, const Tensor& y) override;
    void attention(const Tensor& qkv, int heads, float scale, const Tensor& out) override;
    void patchify(const Tensor& img, int patch, const Tensor& out) override;
    void assemble_tokens(const Tensor& patches, const Tensor* prefix, const Tensor& pos, bool skip,
                         const Tensor& out) override;
    void pool_tokens(const Tensor& x, int first, int count, const Tensor& out) override;
    void to_channels_last(const Tensor& x, const Tensor& y) override;
    void scale_channels(const Tensor& x, const Tensor& sc, Activation act, const Tensor& y) override;

private:
    enum Slot { kSlotA, kSlotT, kSlotBias, kSlotCols, kSlots };

    // Keeps t's prepared storage (if any) alive until the stream has run what reads it.
    void hold(const Tensor& t) {
        if (t.prepared) queue_->hold(t.prepared);
    }
    void enqueue(std::initializer_list<uint64_t> key, LaunchQueue::Launch fn) { queue_->enqueue(key, std::move(fn)); }
    void* scratch(Slot slot, size_t bytes);
    void copy_d2d(void* dst, const void* src, size_t n);
    std::shared_ptr<void> upload_new(const std::vector<char>& bytes, const char* what);

    const void* gemm_input(const Tensor& x, int64_t n);
    void convert(const void* x, DType xt, void* y, DType yt, int64_t n);
    const void* bias_in(const Tensor& bias, DType dt);
    void gemm_fused(const void* a, const void* w, int64_t M, int64_t N, int64_t K, void* y, DType yt, const Tensor* bias,
                    Activation act, const void* residual);
    void launch_gemm(const CublasLtGemm::Plan* plan, const GemmParams& g);
    void epilogue(const void* t, DType tt, const float* bias, const void* residual, void* y, DType yt, Activation act,
                  int64_t M, int64_t N);

    DType cdt_;
    bool tf32_;
    Precision precision_;
    cudaDeviceProp props_{};
    cudaStream_t stream_ = nullptr;
    std::unique_ptr<StagedTransfers> transfers_;
    std::unique_ptr<CublasLtGemm> gemm_;
    std::unique_ptr<LaunchQueue> queue_;

    struct Scratch {
        std::shared_ptr<void> mem;
        size_t bytes = 0;
    };
    Scratch scratch_[kSlots];
    long unfused_gemms_ = 0;  // GEMMs whose fused epilogue cuBLASLt could not serve
};

}  // namespace vitrt::cuda
