// Device memory for the cuda backend, and host <-> device transfers through pinned staging.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

namespace vitrt::cuda {

// cudaMalloc'd memory freed with its last owner; vitrt::Error naming `what` when out of memory.
std::shared_ptr<void> device_alloc(size_t bytes, const char* what);
// Device or managed memory (so a copy from or to it stays on the device).
bool is_device_pointer(const void* p);

// Host <-> device copies through two pinned 8 MiB staging buffers: the host memcpy of one chunk
// overlaps the DMA of the other. Ordered on the given stream (the caller flushes its queue first).
class StagedTransfers {
public:
    StagedTransfers();
    ~StagedTransfers();
    StagedTransfers(const StagedTransfers&) = delete;
    StagedTransfers& operator=(const StagedTransfers&) = delete;

    // Returns once src may be reused (the last chunk is in flight on `s`, not necessarily landed).
    void to_device(void* dst, const void* src, size_t n, cudaStream_t s);
    // Returns once dst holds the bytes (and so every earlier launch on `s` has finished).
    void to_host(void* dst, const void* src, size_t n, cudaStream_t s);

private:
    static constexpr size_t kChunk = 8u << 20;
    void* staging_[2] = {nullptr, nullptr};
    cudaEvent_t staged_[2] = {nullptr, nullptr};
};

}  // namespace vitrt::cuda
