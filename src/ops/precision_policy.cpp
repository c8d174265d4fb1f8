#include "ops/precision_policy.hpp"

namespace vitrt {

namespace {
bool glob(const char* p, const char* s) {
    if (*p == 0) return *s == 0;
    if (*p == '*') return glob(p + 1, s) || (*s && glob(p, s + 1));
    return *s && *p == *s && glob(p + 1, s + 1);
}
}  // namespace

bool name_matches(const std::string& pattern, const std::string& name) {
    if (pattern.find('*') != std::string::npos) return glob(pattern.c_str(), name.c_str());
    if (!pattern.empty() && pattern.back() == '.') return name.compare(0, pattern.size(), pattern) == 0;
    return pattern == name;
}

Precision PrecisionPolicy::for_weight(const std::string& name, WeightRole role) const {
    if (auto it = per_weight.find(name); it != per_weight.end()) return it->second;
    if (role != WeightRole::linear) return Precision::f32;
    for (const auto& k : keep_float)
        if (name_matches(k, name)) return Precision::f32;
    return linear;
}

const std::vector<std::string> PrecisionPolicy::kDefaultKeepFloat = {"patch_embed.*", "head.*", "head_dist.*",
                                                                     "final_conv.se.*"};

int PrecisionPolicy::default_group_size(Precision p) { return p == Precision::w4 ? 32 : p == Precision::w8 ? 128 : 0; }

PrecisionPolicy PrecisionPolicy::from_token(const std::string& token) {
    PrecisionPolicy p;
    const Precision t = parse_precision(token);
    switch (t) {
        case Precision::f32:
        case Precision::tf32:
        case Precision::bf16:
        case Precision::f16:
            p.linear = t;
            p.activations = t;
            break;
        case Precision::w8a8:
            throw Error("precision w8a8 (static int8) needs calibrated activation scales: make a quantized file with "
                        "`vitrt quantize --model M --calib DIR --scheme w8a8 -o M.w8a8.safetensors` and load that, or "
                        "use --precision w8a8-dynamic (no calibration)");
        case Precision::w8a8_dynamic:
        case Precision::w8:
        case Precision::w4:
            p.linear = t;
            p.keep_float = kDefaultKeepFloat;
            if (t != Precision::w8a8_dynamic) p.group_size = default_group_size(t);
            break;
    }
    return p;
}

}  // namespace vitrt
