// Large, long-lived buffers on transparent huge pages where the kernel offers them (THP
// "madvise" or "always"): a 2 MiB page is one page fault instead of 512. On virtual machines
// every fault is expensive, and packing ViT-B's 340 MB of weights into fresh 4 KiB pages was most
// of its load time (88 K faults). Falls back to ordinary pages elsewhere; nothing else changes.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace vitrt::cpu {

// One anonymous mapping of at least `bytes`, 2 MiB aligned, advised for huge pages; freed
// (munmap) when the last reference goes. Throws vitrt::Error when the mapping fails.
std::shared_ptr<void> map_huge(size_t bytes);

// Bump allocator over huge-page chunks for buffers that live as long as a model (packed weights):
// consecutive weights share pages, so at most one partly used huge page per chunk is wasted. A
// returned pointer keeps its chunk alive. Thread-safe.
class HugePageArena {
public:
    explicit HugePageArena(size_t chunk_bytes = size_t(64) << 20) : chunk_bytes_(chunk_bytes) {}
    std::shared_ptr<void> allocate(size_t bytes, size_t align = 64);

private:
    size_t chunk_bytes_;
    std::mutex mutex_;
    std::shared_ptr<void> chunk_;
    size_t chunk_size_ = 0, used_ = 0;
};

}  // namespace vitrt::cpu
