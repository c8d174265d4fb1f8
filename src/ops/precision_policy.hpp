// Which precision each weight is prepared in: decided by name and role, outside model code.
// Model loaders pass every weight through a WeightPreparer (load/weight_preparer.hpp), which asks
// the policy, so one model mixes precisions (some linear layers int8, the rest float) without
// a model file knowing.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ops/op_options.hpp"
#include "ops/precision.hpp"

namespace vitrt {

struct PrecisionPolicy {
    Precision linear = Precision::f32;       // matrices of linear layers (and 1x1 convs)
    Precision activations = Precision::f32;  // weightless ops (attention products): f32 or bf16
    int group_size = 128;                    // w8 / w4 scales: one per `group_size` inputs (0 = per row)
    // Linear weights kept in f32 whatever `linear` says: checkpoint names, exact ("head.weight") or
    // a prefix ending in '.' ("blocks.11."), or a glob with '*' ("*.fc2.weight").
    std::vector<std::string> keep_float;
    // Per-weight precisions that override everything else.
    std::map<std::string, Precision> per_weight;
    // Calibrated input quantization of linear weights run in w8a8 (static): name -> (scale, zero point).
    struct ActQuant {
        float scale = 0.f;
        int zero_point = 0;
    };
    std::map<std::string, ActQuant> calibrated;

    Precision for_weight(const std::string& name, WeightRole role) const;

    // The policy for an engine's --precision token: f32, bf16, f16, tf32 (float everywhere) or
    // w8a8-dynamic (alias int8), w8, w4 (linear layers quantized at load, except the ones in
    // kDefaultKeepFloat). w8a8 (static) needs calibrated activation scales: vitrt::Error pointing
    // at `vitrt quantize`.
    static PrecisionPolicy from_token(const std::string& token);
    // The group size a weight-only scheme uses unless told otherwise: w4 32 (the 4-bit grid is too
    // coarse for larger groups on small ViTs: docs/quantization.md), w8 128; 0 for the rest.
    static int default_group_size(Precision p);
    // Linear layers integer schemes leave in float unless asked: the patch embedding, the
    // classifier heads and FastViT's squeeze-excite (small, and the most sensitive).
    static const std::vector<std::string> kDefaultKeepFloat;
};

// Whether `name` matches a keep_float pattern (exact, prefix ending in '.', or glob with '*').
bool name_matches(const std::string& pattern, const std::string& name);

}  // namespace vitrt
