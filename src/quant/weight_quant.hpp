// Weight quantizers (host, backend-neutral, deterministic): float [N, K] -> QuantizedWeight.
//   w8a8, w8a8-dynamic: s8 per output channel, symmetric: scale[n] = max_k |w[n, k]| / 127.
//   w8: s8 group-wise: scale[n, g] = max over the group / 127 (group_size 0 = per channel).
//   w4: s4 group-wise: scale[n, g] = max over the group / 7, values in [-7, 7], two per byte.
// Rounding is to nearest, ties to even (std::nearbyint in the default mode). All-zero rows and
// groups get scale 1 (q = 0), so dequantization never divides by zero.
// Tests: tests/quant/test_weight_quant.cpp (round trips, odd K, packing).
#pragma once

#include "ops/prepared_weight.hpp"

namespace vitrt {

QuantizedWeight quantize_weight(const HostTensor& w, Precision p, int group_size);
// The float weight a QuantizedWeight stands for (what every kernel must compute with).
HostTensor dequantize_weight(const QuantizedWeight& q);
// Element (n, k) of q's integer matrix (s4 unpacked).
int quantized_value(const QuantizedWeight& q, int64_t n, int64_t k);
// Number of scale groups per row: 1 when group_size is 0, else ceil(K / group_size).
int64_t scale_groups(int64_t K, int group_size);
// The group sizes files and flags may use (w8, w4): 0 (one scale per row) or a power of two from
// 16 to 1024, as group-wise formats elsewhere (GPTQ, AWQ, llama.cpp) use. quantize_weight itself
// takes any size >= 0 (even for w4); files and flags are held to this rule.
bool valid_group_size(int group_size);
// "0 (per row) or a power of two from 16 to 1024", for messages.
const char* group_size_rule();
// Checks a QuantizedWeight's tensors against its precision and [N, K] (dtype and shape of q and
// scales, finite non-zero scales, group size: 0 for the per-channel w8a8 schemes, valid_group_size
// for w8 / w4; static w8a8's input scale and zero point range); vitrt::Error naming `name` otherwise.
void validate_quantized(const QuantizedWeight& q, const std::string& name);
// The quantized data of an integer-precision WeightSpec, checked (present, same precision,
// validate_quantized): what every backend's prepare_weight starts from. `backend` prefixes errors.
const QuantizedWeight& checked_quantized(const WeightSpec& spec, const char* backend);

}  // namespace vitrt
