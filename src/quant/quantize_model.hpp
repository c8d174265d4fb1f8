// Post-training quantization of a ViT-family checkpoint into a self-describing quantized
// safetensors file (`vitrt quantize`): calibration (static w8a8: per-tensor u8 input ranges of
// every quantized linear layer, observed on real images), an optional per-layer sensitivity pass
// that keeps the K most sensitive layers in float, and the writer. Deterministic: the same model,
// images (sorted) and options give a byte-identical file, whatever the thread count.
//
// The file keeps the source's timm tensor names and structure; each quantized linear weight X is
// stored as described in io/weight_reader.hpp (X.weight i8/u8, X.weight_scale, and for w8a8
// X.input_scale / X.input_zero_point), listed in the metadata "vitrt.quantized" with its scheme,
// group size and input width. Metadata also records: "vitrt.format" = "quantized-v1", the scheme,
// group size, calibration method, image count and a hash of the image list, the layers kept in
// float, the source file and its timm config ("vitrt.config": architecture, pretrained_cfg, labels).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ops/precision.hpp"

namespace vitrt {

struct QuantizeOptions {
    std::string model;                    // float checkpoint (any form vitrt loads; ViT family)
    std::vector<std::string> calib_images;  // decoded and preprocessed as the model's config says
    Precision scheme = Precision::w8a8;   // w8a8 | w8a8-dynamic | w8 | w4
    int group_size = 128;                 // w8 / w4
    std::string method = "percentile";    // minmax | percentile | mse (static w8a8 input ranges)
    double percentile = 99.99;
    std::vector<std::string> keep_float;  // extra names / prefixes / globs kept in float
    bool quantize_head = false;           // the classifier head too (default: float)
    int auto_float = 0;                   // keep the K most sensitive linear layers in float
    int sensitivity_images = 32;          // images for the sensitivity pass
    int threads = 0;
    int batch = 8;
    // Progress: stage ("calibrate", "sensitivity", "write"), done, total.
    std::function<void(const std::string&, int64_t, int64_t)> progress;
};

struct QuantizeReport {
    std::vector<std::string> quantized, kept_float;
    std::vector<std::pair<std::string, double>> sensitivity;  // (layer, 1 - mean logit cosine), worst first
    int images = 0;
    std::string calib_hash;
    std::vector<std::string> failed_images;  // unreadable calibration images (skipped)
};

QuantizeReport quantize_model(const QuantizeOptions& options, const std::string& out_path);

// FNV-1a 64 of the image list (names in order, one per line), as 16 hex digits.
std::string image_list_hash(const std::vector<std::string>& images);

}  // namespace vitrt
