// The cuda backend: construction, details(), weight preparation, memory and transfers. The ops
// themselves are in op_adapters_gemm.cpp and op_adapters.cpp; design notes in cuda_ops.hpp.
#include "backends/cuda/cuda_ops.hpp"

#include <cstdlib>

#include "backends/cuda/cuda_backend.hpp"

namespace vitrt {
namespace cuda {

CudaOps::CudaOps(DType compute, bool tf32)
    : cdt_(compute), tf32_(tf32),
      precision_(tf32 ? Precision::tf32 : compute == DType::f32 ? Precision::f32
                                      : compute == DType::bf16  ? Precision::bf16
                                                                : Precision::f16) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        throw DeviceUnavailable(std::string("no CUDA device: ") + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ")");
    }
    if (n == 0) throw DeviceUnavailable("no CUDA device: the CUDA runtime found none");
    int dev = 0;
    if (const char* s = std::getenv("VITRT_CUDA_DEVICE"); s && *s) dev = std::atoi(s);
    check(dev >= 0 && dev < n, "VITRT_CUDA_DEVICE=" + std::to_string(dev) + " but there are " + std::to_string(n) +
                                   " CUDA device(s)");
    VITRT_CUDA_CHECK(cudaSetDevice(dev));
    VITRT_CUDA_CHECK(cudaGetDeviceProperties(&props_, dev));
    if (props_.major < 8)
        throw DeviceUnavailable(std::string("cuda: ") + props_.name + " has compute capability " +
                                std::to_string(props_.major) + "." + std::to_string(props_.minor) +
                                "; vitrt's CUDA kernels need sm_80 or newer (Ampere, Hopper)");
    VITRT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    transfers_ = std::make_unique<StagedTransfers>();
    gemm_ = std::make_unique<CublasLtGemm>();
    queue_ = std::make_unique<LaunchQueue>(stream_);
}

CudaOps::~CudaOps() {
    try {
        synchronize();
    } catch (...) {
    }
    queue_.reset();
    gemm_.reset();
    for (auto& s : scratch_) s.mem.reset();
    transfers_.reset();
    if (stream_) cudaStreamDestroy(stream_);
}

std::string CudaOps::details() const {
    int rt = 0, drv = 0;
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
    const std::string prec = tf32_ ? "tf32" : dtype_name(cdt_);
    const LaunchQueue::Stats& st = queue_->stats();
    std::string graphs = queue_->graphs() ? "on" : "off";
    if (st.captured || st.replayed)
        graphs += " (" + std::to_string(st.captured) + " captured, " + std::to_string(st.replayed) + " replays)";
    return std::string("cuda (") + props_.name + ", sm_" + std::to_string(props_.major * 10 + props_.minor) + ", " +
           std::to_string(props_.multiProcessorCount) + " SMs, runtime " + ver(rt) + ", driver " + ver(drv) + ", " +
           gemm_->version() + ", " + prec + " GEMMs, GELU exact erf (bias epilogue + erf pass), attention " +
           (cdt_ == DType::f32 ? "f32 CUDA cores"
                               : std::string(dtype_name(cdt_)) +
                                     " tensor cores (head dims 32/64/80/96/128; others f32 CUDA cores)") +
           ", CUDA graphs " + graphs +
           (unfused_gemms_ ? ", " + std::to_string(unfused_gemms_) + " GEMM calls without a fused cuBLASLt epilogue" : "") +
           ")";
}

// Linear and conv weights are stored in the backend's compute precision (per-weight float
// precisions other than it, and integer precisions, are not implemented here yet: refused).
bool CudaOps::supports(Precision p, WeightRole role) const {
    if (role == WeightRole::param) return p == Precision::f32;
    return p == precision_ || (p == Precision::f32 && precision_ == Precision::tf32);
}

Tensor CudaOps::prepare_weight(const HostTensor& w, const WeightSpec& spec) {
    if (!supports(spec.precision, spec.role))
        throw Error(std::string("cuda: precision ") + precision_name(spec.precision) + " is not available for " +
                    role_name(spec.role) + " weights on a backend computing in " + precision_name(precision_) +
                    " (weight '" + spec.name + "')");
    return prepare_cuda_weight(this, w, spec, cdt_,
                               [this](const std::vector<char>& bytes, const char* what) { return upload_new(bytes, what); });
}

// Through the pinned staging buffers on the compute stream, then a sync: ordered with every
// queued op, and the weight is on the device when prepare_weight returns.
std::shared_ptr<void> CudaOps::upload_new(const std::vector<char>& bytes, const char* what) {
    auto mem = device_alloc(bytes.size(), what);
    queue_->flush();
    if (!bytes.empty()) transfers_->to_device(mem.get(), bytes.data(), bytes.size(), stream_);
    VITRT_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return mem;
}

void CudaOps::copy(const Tensor& src, const Tensor& dst) {
    VITRT_CUDA_REQUIRE(src.nbytes() == dst.nbytes(), "cuda copy: byte sizes differ");
    hold(src);
    if (src.nbytes()) copy_d2d(dst.data, src.data, src.nbytes());
}

void CudaOps::upload(void* dst, const void* src, size_t n) {
    if (n == 0) return;
    if (is_device_pointer(src)) return copy_d2d(dst, src, n);
    queue_->flush();
    transfers_->to_device(dst, src, n, stream_);
}

void CudaOps::download(void* dst, const void* src, size_t n) {
    if (n == 0) return;
    if (is_device_pointer(dst)) return copy_d2d(dst, src, n);
    queue_->flush();
    transfers_->to_host(dst, src, n, stream_);  // returns when every earlier launch has finished
    queue_->release_finished();
}

void CudaOps::synchronize() {
    queue_->flush();
    VITRT_CUDA_CHECK(cudaStreamSynchronize(stream_));
    queue_->release_finished();
}

void CudaOps::copy_d2d(void* dst, const void* src, size_t n) {
    enqueue({kCopy, u(dst), u(src), uint64_t(n)},
            [=](cudaStream_t s) { VITRT_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, s)); });
}

// Grows geometrically; the old buffer stays alive until the stream is idle (queued launches may
// read it) and the queue learns the move (launch_queue.hpp), so the next run's key is predictable.
void* CudaOps::scratch(Slot slot, size_t bytes) {
    Scratch& s = scratch_[slot];
    if (s.bytes < bytes) {
        std::shared_ptr<void> old = std::move(s.mem);
        s.bytes = std::max(bytes, s.bytes + s.bytes / 2);
        s.mem = device_alloc(s.bytes, "scratch");
        if (old) {
            queue_->moved(old.get(), s.mem.get());
            queue_->hold(std::move(old));
        }
    }
    return s.mem.get();
}

}  // namespace cuda

std::unique_ptr<Ops> make_cuda_ops(const std::string& precision) {
    DType dt;
    bool tf32 = false;
    if (precision == "f32" || precision == "fp32") dt = DType::f32;
    else if (precision == "tf32") dt = DType::f32, tf32 = true;
    else if (precision == "f16" || precision == "fp16") dt = DType::f16;
    else if (precision == "bf16") dt = DType::bf16;
    else throw Error("unknown precision '" + precision + "' for the cuda backend (f32, tf32, f16, bf16)");
    return std::make_unique<cuda::CudaOps>(dt, tf32);
}

}  // namespace vitrt
