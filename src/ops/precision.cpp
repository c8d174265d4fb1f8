#include "ops/precision.hpp"

#include <sstream>

namespace vitrt {
namespace {

const PrecisionInfo kTable[] = {
    {Precision::f32, "f32", "fp32 float32", 32, false, false, "f32 weights and activations"},
    {Precision::tf32, "tf32", "", 32, false, false, "f32 storage, TF32 tensor-core GEMMs (cuda)"},
    {Precision::bf16, "bf16", "bfloat16", 16, false, false, "bf16 weights, bf16 GEMM inputs, f32 accumulation"},
    {Precision::f16, "f16", "fp16 float16 half", 16, false, false, "f16 weights and GEMM inputs"},
    {Precision::w8a8, "w8a8", "w8a8-static int8-static", 8, true, true,
     "s8 per-channel weights, u8 per-tensor calibrated activations"},
    {Precision::w8a8_dynamic, "w8a8-dynamic", "int8 w8a8_dynamic", 8, true, true,
     "s8 per-channel weights, per-token activation scales at run time"},
    {Precision::w8, "w8", "w8a16 int8-weight", 8, true, false, "weight-only s8, group-wise scales"},
    {Precision::w4, "w4", "w4a16 int4-weight", 4, true, false, "weight-only s4, group-wise scales"},
};

}  // namespace

const PrecisionInfo& precision_info(Precision p) {
    for (const auto& r : kTable)
        if (r.precision == p) return r;
    throw Error("precision_info: unknown precision " + std::to_string(int(p)));
}

Precision parse_precision(const std::string& token) {
    for (const auto& r : kTable) {
        if (token == r.token) return r.precision;
        std::istringstream a(r.aliases);
        for (std::string s; a >> s;)
            if (s == token) return r.precision;
    }
    throw Error("unknown precision '" + token + "' (" + precision_tokens() + ")");
}

std::string precision_tokens() {
    std::string s;
    for (const auto& r : kTable) s += (s.empty() ? "" : ", ") + std::string(r.token);
    return s;
}

DType float_storage(Precision p) {
    switch (p) {
        case Precision::f32:
        case Precision::tf32: return DType::f32;
        case Precision::bf16: return DType::bf16;
        case Precision::f16: return DType::f16;
        default: throw Error(std::string("precision ") + precision_name(p) + " is not a float precision");
    }
}

}  // namespace vitrt
