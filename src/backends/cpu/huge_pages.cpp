#include "backends/cpu/huge_pages.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "vitrt/error.hpp"

namespace vitrt::cpu {

namespace {
constexpr size_t kHuge = size_t(2) << 20;
size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }
}  // namespace

std::shared_ptr<void> map_huge(size_t bytes) {
    const size_t size = round_up(bytes == 0 ? 1 : bytes, kHuge);
    // Over-map by one huge page and trim, so the usable range starts on a 2 MiB boundary (only
    // aligned 2 MiB ranges can be backed by huge pages).
    const size_t span = size + kHuge;
    void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw Error("cpu: cannot map " + std::to_string(bytes) + " bytes for weights (out of memory)");
    const auto base = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t start = round_up(base, kHuge);
    if (start > base) ::munmap(raw, start - base);
    const uintptr_t end = start + size;
    if (base + span > end) ::munmap(reinterpret_cast<void*>(end), base + span - end);
#ifdef MADV_HUGEPAGE
    ::madvise(reinterpret_cast<void*>(start), size, MADV_HUGEPAGE);  // advisory: ignored without THP
#endif
    return std::shared_ptr<void>(reinterpret_cast<void*>(start), [size](void* p) { ::munmap(p, size); });
}

std::shared_ptr<void> HugePageArena::allocate(size_t bytes, size_t align) {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t offset = round_up(used_, align);
    if (!chunk_ || offset + bytes > chunk_size_) {
        // A weight larger than a chunk gets a mapping of its own; otherwise a fresh chunk (the
        // old one's unused tail was never touched, so it costs no memory).
        chunk_size_ = std::max(chunk_bytes_, round_up(bytes, kHuge));
        chunk_ = map_huge(chunk_size_);
        offset = 0;
    }
    used_ = offset + bytes;
    // Aliasing constructor: the pointer into the chunk shares the chunk's lifetime.
    return std::shared_ptr<void>(chunk_, static_cast<char*>(chunk_.get()) + offset);
}

}  // namespace vitrt::cpu
