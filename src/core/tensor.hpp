// Tensor views and host tensors shared by loaders, models and backends.
//
// A Tensor is a non-owning view: dtype, shape (row-major, contiguous) and a data pointer that
// may live on the host or on a device, depending on who made it. HostTensor owns (or keeps alive)
// host memory. Backends attach their prepared form of a weight through Tensor::prepared
// (ops/prepared_weight.hpp), which also says the precision it was made in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "vitrt/error.hpp"

namespace vitrt {

// Element types. Integer types hold quantized weights and their metadata; ops compute on f32
// (and f16/bf16 where a backend stores them).
enum class DType : uint8_t { f32, f16, bf16, i8, u8, i32 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "f32", "f16", "bf16", "i8", "u8", "i32"
inline bool is_float(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

// A tensor shape: up to Shape::kMaxRank dims stored inline, so making, copying and comparing
// shapes (every view a forward takes) never touches the heap. Reads like a std::vector<int64_t>.
class Shape {
public:
    static constexpr int kMaxRank = 8;
    using value_type = int64_t;
    using iterator = int64_t*;
    using const_iterator = const int64_t*;

    Shape() = default;
    Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
    template <class It>
    Shape(It first, It last) {
        assign(first, last);
    }
    explicit Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }

    size_t size() const { return size_t(rank_); }
    bool empty() const { return rank_ == 0; }
    int64_t& operator[](size_t i) { return d_[i]; }
    int64_t operator[](size_t i) const { return d_[i]; }
    int64_t at(size_t i) const {
        check(i < size_t(rank_), "Shape::at: dimension out of range");
        return d_[i];
    }
    int64_t back() const { return d_[rank_ - 1]; }
    int64_t front() const { return d_[0]; }
    const int64_t* data() const { return d_; }
    iterator begin() { return d_; }
    iterator end() { return d_ + rank_; }
    const_iterator begin() const { return d_; }
    const_iterator end() const { return d_ + rank_; }
    void push_back(int64_t v) {
        check(rank_ < kMaxRank, "Shape: more than 8 dimensions");
        d_[rank_++] = v;
    }
    void pop_back() { --rank_; }
    std::vector<int64_t> to_vector() const { return {begin(), end()}; }

    friend bool operator==(const Shape& a, const Shape& b) {
        if (a.rank_ != b.rank_) return false;
        for (int i = 0; i < a.rank_; ++i)
            if (a.d_[i] != b.d_[i]) return false;
        return true;
    }
    friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

private:
    template <class It>
    void assign(It first, It last) {
        for (; first != last; ++first) push_back(int64_t(*first));
    }
    int64_t d_[kMaxRank] = {};
    int rank_ = 0;
};

int64_t numel(const Shape& s);
std::string shape_str(const Shape& s);  // "[2, 3, 224, 224]"

class PreparedWeight;  // ops/prepared_weight.hpp

struct Tensor {
    void* data = nullptr;
    DType dtype = DType::f32;
    Shape shape;
    // A backend's prepared form of a weight (e.g. oneDNN blocked weights, int8 with scales) and
    // its precision; null for plain tensors (activations, host data).
    std::shared_ptr<const PreparedWeight> prepared;

    int64_t numel() const { return vitrt::numel(shape); }
    size_t nbytes() const { return size_t(numel()) * dtype_size(dtype); }
    int64_t dim(int i) const { return shape[size_t(i < 0 ? int(shape.size()) + i : i)]; }
    int rank() const { return int(shape.size()); }
    float* f32() const { return static_cast<float*>(data); }
};

// Host tensor that owns its storage, or keeps an external owner (an mmap) alive.
struct HostTensor {
    Tensor view;
    std::shared_ptr<void> owner;
    bool file_backed = false;  // a view into a read-only file mapping (see release_host_pages)

    static HostTensor zeros_f32(const Shape& shape);
    static HostTensor borrowed(const Tensor& view, std::shared_ptr<void> owner);
    const float* f32() const { return static_cast<const float*>(view.data); }
    float* mutable_f32() { return static_cast<float*>(view.data); }
    const Shape& shape() const { return view.shape; }
};

// Tells the OS that a file-backed tensor's pages are not needed any more (a backend has made its
// own copy): they leave the process's resident set and are re-read from the file if touched
// again. Keeps peak memory near one copy of the weights. No-op for tensors that own memory.
void release_host_pages(const HostTensor& t);

// Converts 16-bit floats to f32 (round-trip exact).
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t b);
uint16_t f32_to_bf16(float f);  // round to nearest even
uint16_t f32_to_f16(float f);   // round to nearest even

// A contiguous f32 copy of any host tensor (a view of the same data when already f32).
HostTensor to_f32(const HostTensor& t);

}  // namespace vitrt
