// Reads a checkpoint's tensors by name for a model loader: checks every shape, records what was
// used, and reports missing and unused tensors with the model they were read for. Shared by the
// ViT and FastViT loaders.
#pragma once

#include <map>
#include <set>
#include <string>

#include "core/tensor.hpp"

namespace vitrt {

class WeightReader {
public:
    // model: how messages name the model, e.g. "vit_base_patch16_224 (D=768, depth=12, mlp=3072)".
    WeightReader(const std::map<std::string, HostTensor>& tensors, std::string model)
        : t_(tensors), model_(std::move(model)) {}

    bool has(const std::string& name) const { return t_.count(name) != 0; }
    bool has_prefix(const std::string& prefix) const;
    // The tensor, checked against `shape`; vitrt::Error naming it, the expected shape, `what` and the
    // model otherwise. Marks it used.
    const HostTensor& need(const std::string& name, const Shape& shape, const std::string& what = "");
    // Throws listing (up to 12) tensors never asked for, with `hint` on what that usually means.
    void check_all_used(const std::string& hint) const;
    const std::string& model() const { return model_; }

private:
    const std::map<std::string, HostTensor>& t_;
    std::string model_;
    std::set<std::string> used_;
};

// Parameter count and the checkpoint's storage dtypes ("f32", "bf16+f32") for `vitrt info`.
struct TensorStats {
    int64_t parameters = 0;
    std::string dtypes;
};
TensorStats tensor_stats(const std::map<std::string, HostTensor>& tensors);

}  // namespace vitrt
