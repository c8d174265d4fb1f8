// Per-layer sensitivity for `vitrt quantize`: how far the logits move (1 - mean cosine against the
// float model, on the first images of the calibration set) when exactly one linear layer is
// quantized. Ranks layers for --auto-float / --auto-dynamic, and picks each layer's activation
// range method for --method auto. The model is loaded again for every probe (weights prepared for
// that one change), so a probe costs a load plus a forward of the images.
#pragma once

#include <string>
#include <vector>

#include "ops/ops.hpp"
#include "ops/precision_policy.hpp"
#include "quant/calibration_set.hpp"

namespace vitrt {

class SensitivityProbe {
public:
    // base: the policy every probe starts from (f32 everywhere, the group size). ref: the float
    // model's logits on images [0, n).
    SensitivityProbe(std::string model_path, Ops& ops, const CalibrationSet& images, size_t n, int batch, int classes,
                     PrecisionPolicy base, std::vector<float> ref)
        : path_(std::move(model_path)), ops_(ops), images_(images), n_(n), batch_(batch), classes_(classes),
          base_(std::move(base)), ref_(std::move(ref)) {}

    // 1 - mean logit cosine with only `name` in precision p (act: its input quantization for w8a8).
    double gap(const std::string& name, Precision p, const PrecisionPolicy::ActQuant& act = {}) const;

private:
    std::string path_;
    Ops& ops_;
    const CalibrationSet& images_;
    size_t n_;
    int batch_, classes_;
    PrecisionPolicy base_;
    std::vector<float> ref_;
};

}  // namespace vitrt
