#include "ops/weight_preparer.hpp"

#include "quant/weight_quant.hpp"

namespace vitrt {

Tensor WeightPreparer::prepare(const std::string& name, const HostTensor& t, WeightRole role) {
    const Precision p = policy_.for_weight(name, role);
    if (role == WeightRole::linear) {
        ++linear_counts_[p];
        if (p == Precision::f32 && policy_.linear != Precision::f32) kept_float_.push_back(name);
    }
    Tensor r;
    if (precision_info(p).integer) {
        check(role == WeightRole::linear, "weight '" + name + "': integer precisions apply to linear weights only");
        const QuantizedWeight q = quantize_weight(t, p, policy_.group_size);
        r = ops_.prepare_weight(HostTensor(), WeightSpec(role, p, &q, name.c_str()));
    } else {
        r = ops_.prepare_weight(t, WeightSpec(role, p, nullptr, name.c_str()));
    }
    release_host_pages(t);
    return r;
}

Tensor WeightPreparer::quantized(const std::string& name, const QuantizedWeight& q, WeightRole role) {
    if (role == WeightRole::linear) ++linear_counts_[q.precision];
    Tensor r = ops_.prepare_weight(HostTensor(), WeightSpec(role, q.precision, &q, name.c_str()));
    release_host_pages(q.q);
    return r;
}

std::string WeightPreparer::linear_summary() const {
    std::string s;
    for (const auto& [p, n] : linear_counts_) s += (s.empty() ? "" : ", ") + std::to_string(n) + " x " + precision_name(p);
    return s;
}

}  // namespace vitrt
