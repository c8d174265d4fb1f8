// Writes the quantized safetensors file of `vitrt quantize` (layout: io/weight_reader.hpp): the
// source checkpoint's tensors under timm names, each planned linear weight replaced by its integer
// values and scales (plus, for static w8a8, its input scale and zero point), and the metadata that
// makes the file self-describing (quant/quantize_model.hpp lists it). Deterministic: the same
// plan gives the same bytes (tensors are written sorted by name, metadata keys sorted).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ops/precision_policy.hpp"

namespace vitrt {

// What one linear weight becomes. Weights not in the plan stay as the source stores them.
struct LayerPlan {
    Precision precision = Precision::w8a8;
    int group_size = 0;                  // w8 / w4
    PrecisionPolicy::ActQuant act;       // w8a8 (static): the calibrated input quantization
    std::string calibration;             // w8a8 (static): the range method that chose `act`
};

struct QuantizedFileInfo {
    std::string source;                  // the float checkpoint (any form vitrt loads; ViT family)
    std::string architecture;
    Precision scheme = Precision::w8a8;
    int group_size = 0;
    std::string calibration_method;      // "mse", "auto (...)", "none (weights only)"
    int calibration_images = 0;
    std::string calibration_list_hash;   // image_list_hash of the image file names
    std::vector<std::string> kept_float;
    nlohmann::json config;               // "vitrt.config": architecture, model_args, pretrained_cfg, labels
};

void write_quantized_file(const std::string& out_path, const std::map<std::string, LayerPlan>& plan,
                          const QuantizedFileInfo& info);

}  // namespace vitrt
