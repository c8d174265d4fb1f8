// The images `vitrt quantize` calibrates and measures sensitivity on: decoded and preprocessed once
// (unreadable ones reported and skipped), run through a model in batches; and the logit distance
// the sensitivity pass ranks layers by.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/model_runner.hpp"
#include "image/image.hpp"

namespace vitrt {

// Progress: stage, done, total (QuantizeOptions::progress).
using QuantizeProgress = std::function<void(const std::string&, int64_t, int64_t)>;

struct CalibrationSet {
    size_t per_image = 0;  // floats per preprocessed image
    std::vector<std::vector<float>> images;
    std::vector<std::string> failed;  // "path: reason"

    // Decodes and preprocesses every path (in parallel; the order of `images` is the order of the
    // readable paths, whatever the thread count).
    static CalibrationSet load(const std::vector<std::string>& paths, const image::PreprocessConfig& cfg,
                               size_t per_image, const QuantizeProgress& progress);

    // Runs images [0, n) in batches of `batch`; the logits [n, classes] when `logits` is given.
    // progress (when set) is called with `stage` after each batch.
    void run(ModelRunner& r, size_t n, int batch, int classes, std::vector<float>* logits,
             const QuantizeProgress& progress = {}, const char* stage = nullptr) const;
};

// Mean over rows of (1 - cosine(a_row, b_row)), rows of `classes` logits; double accumulation in
// row order (deterministic).
double mean_cosine_gap(const std::vector<float>& a, const std::vector<float>& b, int classes);

}  // namespace vitrt
