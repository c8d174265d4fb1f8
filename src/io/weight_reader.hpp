// Reads a checkpoint's tensors by name for a model loader: checks every shape, records what was
// used, and reports missing and unused tensors with the model they were read for. Shared by the
// ViT and FastViT loaders.
#pragma once

#include <map>
#include <set>
#include <string>

#include "core/tensor.hpp"

namespace vitrt {

// How a quantized checkpoint (vitrt quantize) stores one linear weight `X.weight`:
//   X.weight             i8 [N, K] (w8a8, w8a8-dynamic, w8) or u8 [N, ceil(K/2)] (w4, two s4 per byte)
//   X.weight_scale       f32 [N] (per channel) or [N, ceil(K / group)] (group-wise)
//   X.input_scale        f32 [1]   } w8a8 (static) only: the calibrated input activation's
//   X.input_zero_point   i32 [1]   } per-tensor u8 quantization
// plus its precision and group size in the file's metadata (QuantizedEntry).
struct QuantizedEntry {
    std::string precision;  // token: w8a8, w8a8-dynamic, w8, w4
    int group_size = 0;
    int64_t in_features = 0;  // K (w4 stores ceil(K / 2) bytes per row)
};

class WeightReader {
public:
    // model: how messages name the model, e.g. "vit_base_patch16_224 (D=768, depth=12, mlp=3072)".
    // quantized: the linear weights stored quantized (empty for float checkpoints).
    WeightReader(const std::map<std::string, HostTensor>& tensors, std::string model,
                 std::map<std::string, QuantizedEntry> quantized = {})
        : t_(tensors), model_(std::move(model)), quantized_(std::move(quantized)) {}

    bool is_quantized(const std::string& name) const { return quantized_.count(name) != 0; }
    const QuantizedEntry* quantized_entry(const std::string& name) const {
        auto it = quantized_.find(name);
        return it == quantized_.end() ? nullptr : &it->second;
    }
    // The tensors of a quantized linear weight of logical shape [N, K]; marks them used.
    // vitrt::Error naming the tensor when one is missing or has the wrong dtype or shape.
    const HostTensor& need_raw(const std::string& name) {
        auto it = t_.find(name);
        check(it != t_.end(), "checkpoint is missing tensor '" + name + "' (for " + model_ + ")");
        used_.insert(name);
        return it->second;
    }

    bool has(const std::string& name) const { return t_.count(name) != 0; }
    bool has_prefix(const std::string& prefix) const;
    // The tensor, checked to be float and against `shape`; vitrt::Error naming it, the expected
    // shape, `what` and the model otherwise. Marks it used.
    const HostTensor& need(const std::string& name, const Shape& shape, const std::string& what = "");
    // Throws listing (up to 12) tensors never asked for, with `hint` on what that usually means.
    void check_all_used(const std::string& hint) const;
    const std::string& model() const { return model_; }

private:
    const std::map<std::string, HostTensor>& t_;
    std::string model_;
    std::map<std::string, QuantizedEntry> quantized_;
    std::set<std::string> used_;
};

// Parameter count and the checkpoint's storage dtypes ("f32", "bf16+f32") for `vitrt info`.
struct TensorStats {
    int64_t parameters = 0;
    std::string dtypes;
};
TensorStats tensor_stats(const std::map<std::string, HostTensor>& tensors);

}  // namespace vitrt
