#include "core/tensor.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace vitrt {

size_t dtype_size(DType t) {
    switch (t) {
        case DType::f32: return 4;
        case DType::f16: return 2;
        case DType::bf16: return 2;
        case DType::i8: return 1;
        case DType::u8: return 1;
        case DType::i32: return 4;
    }
    return 0;
}

const char* dtype_name(DType t) {
    switch (t) {
        case DType::f32: return "f32";
        case DType::f16: return "f16";
        case DType::bf16: return "bf16";
        case DType::i8: return "i8";
        case DType::u8: return "u8";
        case DType::i32: return "i32";
    }
    return "?";
}

int64_t numel(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
}

std::string shape_str(const Shape& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) {
        if (i) r += ", ";
        r += std::to_string(s[i]);
    }
    return r + "]";
}

HostTensor HostTensor::zeros_f32(const Shape& shape) {
    HostTensor t;
    const int64_t n = numel(shape);
    check(n >= 0, "negative tensor size " + shape_str(shape));
    auto buf = std::shared_ptr<float>(new float[size_t(n) + 1](), std::default_delete<float[]>());
    t.view.data = buf.get();
    t.view.dtype = DType::f32;
    t.view.shape = shape;
    t.owner = buf;
    return t;
}

HostTensor HostTensor::borrowed(const Tensor& view, std::shared_ptr<void> owner) {
    HostTensor t;
    t.view = view;
    t.owner = std::move(owner);
    return t;
}

void release_host_pages(const HostTensor& t) {
    if (!t.file_backed || !t.view.data || t.view.nbytes() == 0) return;
    static const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    // Whole pages, also those shared with neighbouring tensors: the mapping is read-only and
    // file-backed, so a dropped page is simply faulted in again from the file if needed.
    const uintptr_t begin = reinterpret_cast<uintptr_t>(t.view.data) & ~(page - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(t.view.data) + t.view.nbytes() + page - 1) & ~(page - 1);
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);  // advisory: errors are harmless
}

float f16_to_f32(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t mant = h & 0x3ff;
    float v;
    if (exp == 0) {
        v = std::ldexp(float(mant), -24);
    } else if (exp == 31) {
        v = mant ? NAN : INFINITY;
    } else {
        v = std::ldexp(float(mant | 0x400), int(exp) - 25);
    }
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    bits |= sign;
    std::memcpy(&v, &bits, 4);
    return v;
}

float bf16_to_f32(uint16_t b) {
    uint32_t bits = uint32_t(b) << 16;
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
}

uint16_t f32_to_bf16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffff) > 0x7f800000) return uint16_t((bits >> 16) | 0x40);  // NaN stays NaN
    const uint32_t rounding = 0x7fff + ((bits >> 16) & 1);
    return uint16_t((bits + rounding) >> 16);
}

uint16_t f32_to_f16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000;
    const uint32_t absx = x & 0x7fffffff;
    if (absx > 0x7f800000) return uint16_t(sign | 0x7e00);
    if (absx >= 0x477ff000) return uint16_t(sign | 0x7c00);  // overflow to inf (incl. rounding)
    if (absx < 0x38800000) {                                  // subnormal or zero in f16
        float a;
        std::memcpy(&a, &absx, 4);
        const float scaled = a * 16777216.0f;  // 2^24: units of the smallest subnormal
        return uint16_t(sign | uint32_t(std::nearbyint(scaled)));
    }
    const uint32_t mant_rounded = absx + 0xfff + ((absx >> 13) & 1);
    return uint16_t(sign | ((mant_rounded - 0x38000000) >> 13));
}

HostTensor to_f32(const HostTensor& t) {
    if (t.view.dtype == DType::f32) return t;
    check(t.view.dtype == DType::f16 || t.view.dtype == DType::bf16,
          std::string("an integer tensor (") + dtype_name(t.view.dtype) + ") is used where a float tensor is expected");
    HostTensor r = HostTensor::zeros_f32(t.view.shape);
    const int64_t n = t.view.numel();
    const auto* src = static_cast<const uint16_t*>(t.view.data);
    float* dst = r.mutable_f32();
    if (t.view.dtype == DType::f16) {
        for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
    } else {
        for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
    }
    return r;
}

}  // namespace vitrt
