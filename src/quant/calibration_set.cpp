#include "quant/calibration_set.hpp"

#include <algorithm>
#include <cmath>

namespace vitrt {

CalibrationSet CalibrationSet::load(const std::vector<std::string>& paths, const image::PreprocessConfig& cfg,
                                    size_t per_image, const QuantizeProgress& progress) {
    CalibrationSet s;
    s.per_image = per_image;
    std::vector<std::vector<float>> out(paths.size());
    std::vector<std::string> err(paths.size());
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < int64_t(paths.size()); ++i) {
        try {
            std::vector<float> x(per_image);
            image::preprocess(image::decode_file(paths[size_t(i)]), cfg, x.data());
            out[size_t(i)] = std::move(x);
        } catch (const std::exception& e) {
            err[size_t(i)] = e.what();
        }
    }
    for (size_t i = 0; i < paths.size(); ++i) {
        if (!err[i].empty()) s.failed.push_back(paths[i] + ": " + err[i]);
        else s.images.push_back(std::move(out[i]));
    }
    if (progress) progress("preprocess", int64_t(paths.size()), int64_t(paths.size()));
    return s;
}

void CalibrationSet::run(ModelRunner& r, size_t n, int batch, int classes, std::vector<float>* logits,
                         const QuantizeProgress& progress, const char* stage) const {
    std::vector<float> in, y;
    n = std::min(n, images.size());
    for (size_t i = 0; i < n; i += size_t(batch)) {
        const int bs = int(std::min(n - i, size_t(batch)));
        in.resize(size_t(bs) * per_image);
        for (int k = 0; k < bs; ++k)
            std::copy(images[i + size_t(k)].begin(), images[i + size_t(k)].end(), in.begin() + int64_t(size_t(k) * per_image));
        y.resize(size_t(bs) * size_t(classes));
        r.run(in.data(), bs, y.data());
        if (logits) logits->insert(logits->end(), y.begin(), y.end());
        if (progress && stage) progress(stage, int64_t(i) + bs, int64_t(n));
    }
}

double mean_cosine_gap(const std::vector<float>& a, const std::vector<float>& b, int classes) {
    const size_t n = std::min(a.size(), b.size()) / size_t(classes);
    double gap = 0;
    for (size_t i = 0; i < n; ++i) {
        double ab = 0, aa = 0, bb = 0;
        for (int k = 0; k < classes; ++k) {
            const double x = a[i * size_t(classes) + size_t(k)], y = b[i * size_t(classes) + size_t(k)];
            ab += x * y, aa += x * x, bb += y * y;
        }
        gap += 1.0 - ab / std::sqrt(std::max(aa * bb, 1e-300));
    }
    return n ? gap / double(n) : 0.0;
}

}  // namespace vitrt
