// The precision table: every way a prepared weight can be stored and computed with, its token
// (flags, files, bench output) and what it means. Adding a precision = one row here + kernels;
// no model file changes.
//
//   token         weight storage                         activations at the GEMM
//   f32           f32                                    f32
//   tf32          f32 (cuda: TF32 tensor cores)          f32
//   bf16          bf16                                   rounded to bf16, f32 accumulation
//   f16           f16                                    f16 (cuda)
//   w8a8          s8, per-output-channel symmetric       u8, per-tensor scale + zero point (calibrated)
//   w8a8-dynamic  s8, per-output-channel symmetric       s8/u8, per-token scale found at run time
//   w8            s8, group-wise scales (weight-only)    f32 (weights dequantized on the fly)
//   w4            s4 packed 2 per byte, group-wise       f32
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.hpp"

namespace vitrt {

enum class Precision : uint8_t { f32, tf32, bf16, f16, w8a8, w8a8_dynamic, w8, w4 };

struct PrecisionInfo {
    Precision precision;
    const char* token;        // canonical, e.g. "w8a8-dynamic"
    const char* aliases;      // space-separated other spellings accepted by parse_precision
    int weight_bits;          // bits per stored weight element
    bool integer;             // integer weights with scales
    bool quantized_activations;
    const char* summary;
};

const PrecisionInfo& precision_info(Precision p);
inline const char* precision_name(Precision p) { return precision_info(p).token; }
// Canonical tokens and aliases ("fp32", "fp16", "int8" = w8a8-dynamic, "w8a16", "w4a16");
// vitrt::Error listing the tokens otherwise.
Precision parse_precision(const std::string& token);
// "f32, tf32, bf16, ..." for messages and --help.
std::string precision_tokens();
// The float dtype a float precision stores (f32 for f32/tf32); vitrt::Error for integer ones.
DType float_storage(Precision p);

}  // namespace vitrt
