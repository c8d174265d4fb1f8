// .npy array parser (NumPy format versions 1.0, 2.0 and 3.0), used for npz members; and a
// float32 writer (`vitrt embed`).
//
// Accepts float32 and float16 (kept as f32 / f16 tensors) and float64 (converted to f32), in
// either byte order, C or Fortran order (Fortran is transposed to C order). Everything else
// (integers, bool, complex, structured or object arrays) is rejected naming the array.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/tensor.hpp"

namespace vitrt::io {

struct NpyHeader {
    std::string descr;  // e.g. "<f4"
    bool fortran_order = false;
    Shape shape;
    size_t data_offset = 0;  // from the start of the .npy bytes
};

// Parses and validates the header of `n` bytes at `p`; `where` prefixes error messages
// ("ckpt.npz: member 'a/b.npy'").
NpyHeader parse_npy_header(const uint8_t* p, size_t n, const std::string& where);

// The array in `n` bytes at `p`. When the bytes can be used as they are (little-endian f4/f2,
// C order, aligned), the tensor views them and keeps `owner` alive; otherwise it owns a copy.
HostTensor parse_npy(const uint8_t* p, size_t n, std::shared_ptr<void> owner,
                     const std::string& where);

// Writes a little-endian float32 C-order .npy (format 1.0) of `shape` (atomically: a temporary
// file renamed into place); vitrt::Error naming the path on a write error.
void save_npy_f32(const std::string& path, const Shape& shape, const float* data);

}  // namespace vitrt::io
