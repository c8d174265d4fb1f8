// The one way model loaders turn checkpoint tensors into backend weights: asks the precision
// policy for each weight's precision (by name and role), quantizes on the host when the policy
// wants an integer precision from a float tensor, hands it to Ops::prepare_weight and releases the
// checkpoint's pages (peak memory stays near one copy of the weights). Records what it did for
// `vitrt info`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ops/ops.hpp"
#include "ops/precision_policy.hpp"

namespace vitrt {

class WeightPreparer {
public:
    WeightPreparer(Ops& ops, PrecisionPolicy policy) : ops_(ops), policy_(std::move(policy)) {}

    Tensor param(const std::string& name, const HostTensor& t) { return prepare(name, t, WeightRole::param); }
    Tensor linear(const std::string& name, const HostTensor& t) { return prepare(name, t, WeightRole::linear); }
    Tensor conv(const std::string& name, const HostTensor& t) { return prepare(name, t, WeightRole::conv); }
    // A weight that arrives already quantized (from a quantized checkpoint).
    Tensor quantized(const std::string& name, const QuantizedWeight& q, WeightRole role);
    Tensor prepare(const std::string& name, const HostTensor& t, WeightRole role);

    const PrecisionPolicy& policy() const { return policy_; }
    Ops& ops() { return ops_; }
    // "12 x bf16, 1 x f32" over the linear weights, and the linear weights kept in float when
    // the policy quantizes.
    std::string linear_summary() const;
    const std::vector<std::string>& kept_float() const { return kept_float_; }

private:
    Ops& ops_;
    PrecisionPolicy policy_;
    std::map<Precision, int> linear_counts_;
    std::vector<std::string> kept_float_;
};

}  // namespace vitrt
