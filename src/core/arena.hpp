// Plan-once activation arena: a bump allocator over one block of backend memory.
//
// A model takes its activation buffers from the arena at the start of forward(). Run once with
// no memory attached (planning), the same code only measures how many bytes it needs; the engine
// then allocates that once per (batch, resolution) and every later run reuses it.
#pragma once

#include <cstddef>

#include "core/tensor.hpp"

namespace vitrt {

class Arena {
public:
    // base == nullptr starts a planning pass; otherwise the block must hold capacity bytes.
    void reset(void* base, size_t capacity = 0) {
        base_ = static_cast<char*>(base);
        capacity_ = capacity;
        used_ = 0;
    }
    bool planning() const { return base_ == nullptr; }
    size_t used() const { return used_; }

    Tensor take(const Shape& shape, DType dtype = DType::f32) {
        Tensor t;
        t.dtype = dtype;
        t.shape = shape;
        const size_t bytes = (t.nbytes() + kAlign - 1) / kAlign * kAlign;
        if (!planning()) {
            check(used_ + bytes <= capacity_, "internal: activation arena overflow (plan and run disagree)");
            t.data = base_ + used_;
        }
        used_ += bytes;
        return t;
    }

private:
    static constexpr size_t kAlign = 256;  // cache lines and GPU transactions
    char* base_ = nullptr;
    size_t capacity_ = 0;
    size_t used_ = 0;
};

}  // namespace vitrt
