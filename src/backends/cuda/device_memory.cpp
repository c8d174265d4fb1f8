#include "backends/cuda/device_memory.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "backends/cuda/cuda_check.hpp"

namespace vitrt::cuda {

std::shared_ptr<void> device_alloc(size_t bytes, const char* what) {
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, std::max<size_t>(bytes, 1));
    if (e != cudaSuccess) {
        cudaGetLastError();
        throw Error(std::string("cuda: cannot allocate ") + std::to_string(bytes) + " bytes of device memory for " + what +
                    ": " + cudaGetErrorString(e));
    }
    return std::shared_ptr<void>(p, [](void* q) { cudaFree(q); });
}

bool is_device_pointer(const void* p) {
    cudaPointerAttributes a{};
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        cudaGetLastError();
        return false;
    }
    return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
}

StagedTransfers::StagedTransfers() {
    for (int i = 0; i < 2; ++i) {
        VITRT_CUDA_CHECK(cudaMallocHost(&staging_[i], kChunk));
        VITRT_CUDA_CHECK(cudaEventCreateWithFlags(&staged_[i], cudaEventDisableTiming));
    }
}

StagedTransfers::~StagedTransfers() {
    for (int i = 0; i < 2; ++i) {
        if (staged_[i]) cudaEventSynchronize(staged_[i]);
        if (staging_[i]) cudaFreeHost(staging_[i]);
        if (staged_[i]) cudaEventDestroy(staged_[i]);
    }
}

void StagedTransfers::to_device(void* dst, const void* src, size_t n, cudaStream_t s) {
    for (size_t off = 0, i = 0; off < n; off += kChunk, ++i) {
        const int k = int(i % 2);
        const size_t len = std::min(kChunk, n - off);
        VITRT_CUDA_CHECK(cudaEventSynchronize(staged_[k]));  // the slot's previous DMA is done
        std::memcpy(staging_[k], static_cast<const char*>(src) + off, len);
        VITRT_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst) + off, staging_[k], len, cudaMemcpyHostToDevice, s));
        VITRT_CUDA_CHECK(cudaEventRecord(staged_[k], s));
    }
}

void StagedTransfers::to_host(void* dst, const void* src, size_t n, cudaStream_t s) {
    const size_t chunks = (n + kChunk - 1) / kChunk;
    auto issue = [&](size_t i) {
        const size_t off = i * kChunk, len = std::min(kChunk, n - off);
        VITRT_CUDA_CHECK(cudaMemcpyAsync(staging_[i % 2], static_cast<const char*>(src) + off, len, cudaMemcpyDeviceToHost, s));
        VITRT_CUDA_CHECK(cudaEventRecord(staged_[i % 2], s));
    };
    issue(0);
    if (chunks > 1) issue(1);
    for (size_t i = 0; i < chunks; ++i) {
        const size_t off = i * kChunk, len = std::min(kChunk, n - off);
        VITRT_CUDA_CHECK(cudaEventSynchronize(staged_[i % 2]));
        std::memcpy(static_cast<char*>(dst) + off, staging_[i % 2], len);
        if (i + 2 < chunks) issue(i + 2);
    }
}

}  // namespace vitrt::cuda
