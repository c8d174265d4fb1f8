// The one way model loaders turn checkpoint tensors into backend weights: asks the precision
// policy for each weight's precision (by name and role); takes a weight that the checkpoint stores
// quantized as it is, quantizes a float one on the host when the policy wants an integer
// precision; applies a per-row scale when the model folds one in (LayerScale, DeiT's head
// average: exact for float and quantized weights alike, since per-row quantization commutes with
// row scaling); hands the result to Ops::prepare_weight and releases the checkpoint's pages (peak
// memory stays near one copy of the weights). Refuses a float weight holding NaN or Inf, by name
// (one pass over what reaches the backend, folded and scaled weights included: a NaN anywhere
// turns every output into NaN). Records what it did for `vitrt info`, and which prepared weight
// came from which name (calibration observes linear inputs by weight name).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/weight_reader.hpp"
#include "ops/ops.hpp"
#include "ops/precision_policy.hpp"

namespace vitrt {

// Multiplies row r of a weight (or element r of a bias) by per_row[r] (when given) and by `all`.
struct RowScale {
    const HostTensor* per_row = nullptr;
    std::string per_row_name;  // per_row's checkpoint name: a non-finite scale is refused naming it
    float all = 1.f;
    bool identity() const { return per_row == nullptr && all == 1.f; }
};

class WeightPreparer {
public:
    WeightPreparer(Ops& ops, PrecisionPolicy policy) : ops_(ops), policy_(std::move(policy)) {}

    // Float tensors already read.
    Tensor param(const std::string& name, const HostTensor& t) { return prepare(name, t, WeightRole::param); }
    Tensor linear(const std::string& name, const HostTensor& t) { return prepare(name, t, WeightRole::linear); }
    Tensor conv(const std::string& name, const HostTensor& t) { return prepare(name, t, WeightRole::conv); }
    Tensor prepare(const std::string& name, const HostTensor& t, WeightRole role);

    // Read from the checkpoint by name ([N, K] / [N]), stored float or quantized, rows scaled.
    Tensor linear(WeightReader& r, const std::string& name, const Shape& shape, const RowScale& rows = {});
    Tensor param(WeightReader& r, const std::string& name, const Shape& shape, const RowScale& rows = {});

    // vitrt::Error starting with `what` (e.g. "weight 'cls_token'") when a float tensor holds NaN
    // or Inf. prepare() calls it; a model calls it for checkpoint tensors it combines or folds
    // before preparing, so that the message names the tensor that holds the value.
    static void check_finite(const std::string& what, const HostTensor& t);

    const PrecisionPolicy& policy() const { return policy_; }
    Ops& ops() { return ops_; }
    // "48 x w8a8-dynamic, 1 x f32" over the linear weights.
    std::string linear_summary() const;
    // Linear weights kept in float while the policy quantizes the others.
    const std::vector<std::string>& kept_float() const;
    // The checkpoint name of every prepared linear weight (keyed by its prepared form).
    const std::map<const PreparedWeight*, std::string>& linear_names() const { return names_; }

private:
    Tensor finish_linear(const std::string& name, Tensor t, Precision p);
    Ops& ops_;
    PrecisionPolicy policy_;
    std::map<Precision, int> linear_counts_;
    std::vector<std::string> float_linear_;
    bool any_integer_ = false;
    std::map<const PreparedWeight*, std::string> names_;
};

// The quantized weight a checkpoint stores under `name` (see io/weight_reader.hpp), validated
// against its logical shape [N, K].
QuantizedWeight read_quantized(WeightReader& r, const std::string& name, const QuantizedEntry& e, const Shape& shape);

}  // namespace vitrt
