// Small helpers shared by the checkpoint parsers: little-endian reads from untrusted bytes,
// overflow-checked size arithmetic and aligned owned buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "vitrt/error.hpp"

namespace vitrt::io {

// Reads through memcpy: the source is arbitrary file bytes with no alignment guarantee.
inline uint16_t rd16(const uint8_t* p) {
    return uint16_t(p[0] | (p[1] << 8));
}
inline uint32_t rd32(const uint8_t* p) {
    return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline uint64_t rd64(const uint8_t* p) { return uint64_t(rd32(p)) | (uint64_t(rd32(p + 4)) << 32); }

// a * b, or false when it does not fit.
inline bool mul_ok(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }
inline bool add_ok(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_add_overflow(a, b, out); }

// An owned, 64-byte aligned buffer (SIMD kernels may read weights with aligned loads). Never
// returns null for n == 0, so empty tensors still get a valid, distinct pointer.
struct OwnedBuffer {
    std::shared_ptr<void> owner;
    uint8_t* data = nullptr;
};

// Throws vitrt::Error (not std::bad_alloc) naming `what`, so callers see one error type.
inline OwnedBuffer alloc_buffer(size_t n, const std::string& what) {
    const size_t rounded = (n + 63) / 64 * 64 + 64;  // +64: never zero
    void* p = rounded > n ? std::aligned_alloc(64, rounded) : nullptr;
    if (!p) throw Error(what + ": cannot allocate " + std::to_string(n) + " bytes");
    OwnedBuffer b;
    b.owner = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
    b.data = static_cast<uint8_t*>(p);
    return b;
}

inline bool is_aligned(const void* p, size_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

}  // namespace vitrt::io
