// Post-training quantization of a ViT-family checkpoint into a self-describing quantized
// safetensors file (`vitrt quantize`, docs/quantization.md):
//   1. static w8a8: calibration, the per-tensor u8 input range of every quantized linear layer,
//      observed on real images (quant/calibrating_ops.hpp, quant/observer.hpp); with --method
//      auto, each layer's range method (minmax, percentile, mse) is the one that moves the logits
//      least when that layer alone is quantized (quant/sensitivity.hpp);
//   2. optionally, per-layer sensitivity (each layer quantized alone, logit cosine against the
//      float model): the auto_float most sensitive layers stay float, the next auto_dynamic
//      (static w8a8 only) run w8a8-dynamic (per-token input scales at run time);
//   3. the file (quant/quantized_writer.hpp).
// Deterministic: the same model, images (in order) and options give a byte-identical file. The
// calibration is exact whatever the thread count (observer.hpp); the sensitivity pass compares
// forwards, and oneDNN may sum in another order with another thread count, so a ranking or method
// choice between two layers whose scores differ in the last bits could in principle flip:
// tests/cli/test_cli_quantize.cpp checks 1 vs 2 threads byte for byte.
//
// The file keeps the source's timm tensor names and structure; each quantized linear weight X is
// stored as described in io/weight_reader.hpp (X.weight i8/u8, X.weight_scale, and for w8a8
// X.input_scale / X.input_zero_point), listed in the metadata "vitrt.quantized" with its scheme,
// group size, input width (and range method). Metadata also records: "vitrt.format" =
// "quantized-v1", the scheme, group size, calibration method, image count and a hash of the image
// list, the layers kept in float, the source file and its timm config ("vitrt.config":
// architecture, pretrained_cfg, labels). FastViT is refused (its folded weights are not the
// checkpoint's; it is quantized at load instead: --precision w8a8-dynamic, w8, w4).
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
    int group_size = 128;                 // w8 / w4: 0 or a power of two from 16 to 1024
    std::string method = "mse";           // minmax | percentile | mse | auto (static w8a8 input ranges)
    double percentile = 99.99;
    std::vector<std::string> keep_float;  // extra names / prefixes / globs kept in float
    bool quantize_head = false;           // the classifier head too (default: float)
    int auto_float = 0;                   // keep the K most sensitive linear layers in float
    int auto_dynamic = 0;                 // static w8a8: the next K most sensitive run w8a8-dynamic
    int sensitivity_images = 32;          // images for the sensitivity pass (--auto-*, --method auto)
    int threads = 0;
    int batch = 8;
    // Progress: stage ("preprocess", "calibrate", "sensitivity", "write"), done, total.
    std::function<void(const std::string&, int64_t, int64_t)> progress;
};

struct QuantizeReport {
    std::vector<std::string> quantized, kept_float, dynamic;  // dynamic: static layers moved to w8a8-dynamic
    std::vector<std::pair<std::string, double>> sensitivity;  // (layer, 1 - mean logit cosine), worst first
    std::vector<std::pair<std::string, std::string>> methods;  // --method auto: (layer, range method chosen)
    int images = 0;
    std::string calib_hash;
    std::vector<std::string> failed_images;  // unreadable calibration images (skipped)
};

QuantizeReport quantize_model(const QuantizeOptions& options, const std::string& out_path);

// FNV-1a 64 of the image list (names in order, one per line), as 16 hex digits.
std::string image_list_hash(const std::vector<std::string>& images);

}  // namespace vitrt
