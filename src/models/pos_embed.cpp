#include "models/pos_embed.hpp"

#include <algorithm>
#include <cmath>

namespace vitrt {
namespace {

double bicubic_aa(double x) {
    const double a = -0.5;
    x = std::fabs(x);
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
}

// For each output index: first input index and normalised weights (torch's HelperInterpAA).
struct Taps {
    std::vector<int64_t> first;
    std::vector<std::vector<double>> w;
};

Taps compute_taps(int64_t in, int64_t out) {
    const double scale = double(in) / double(out);
    const double support = scale >= 1.0 ? 2.0 * scale : 2.0;
    const double inv = scale >= 1.0 ? 1.0 / scale : 1.0;
    Taps t;
    for (int64_t i = 0; i < out; ++i) {
        const double center = scale * (double(i) + 0.5);
        const int64_t lo = std::max<int64_t>(int64_t(center - support + 0.5), 0);
        const int64_t hi = std::min<int64_t>(int64_t(center + support + 0.5), in);
        std::vector<double> w;
        double total = 0;
        for (int64_t j = lo; j < hi; ++j) {
            w.push_back(bicubic_aa((double(j) - center + 0.5) * inv));
            total += w.back();
        }
        for (double& v : w) v = total != 0 ? v / total : 0;
        t.first.push_back(lo);
        t.w.push_back(std::move(w));
    }
    return t;
}

}  // namespace

std::vector<float> resample_pos_embed_bicubic(const float* grid, int64_t gh, int64_t gw, int64_t D, int64_t nh,
                                              int64_t nw) {
    const Taps tx = compute_taps(gw, nw), ty = compute_taps(gh, nh);
    // Horizontal pass then vertical, in double.
    std::vector<double> mid(size_t(gh * nw * D), 0.0);
    for (int64_t y = 0; y < gh; ++y)
        for (int64_t x = 0; x < nw; ++x)
            for (size_t k = 0; k < tx.w[size_t(x)].size(); ++k) {
                const double w = tx.w[size_t(x)][k];
                const float* src = grid + (y * gw + tx.first[size_t(x)] + int64_t(k)) * D;
                double* dst = mid.data() + (y * nw + x) * D;
                for (int64_t d = 0; d < D; ++d) dst[d] += w * src[d];
            }
    std::vector<float> out(size_t(nh * nw * D));
    for (int64_t y = 0; y < nh; ++y)
        for (int64_t x = 0; x < nw; ++x)
            for (int64_t d = 0; d < D; ++d) {
                double acc = 0;
                for (size_t k = 0; k < ty.w[size_t(y)].size(); ++k)
                    acc += ty.w[size_t(y)][k] * mid[size_t(((ty.first[size_t(y)] + int64_t(k)) * nw + x) * D + d)];
                out[size_t((y * nw + x) * D + d)] = float(acc);
            }
    return out;
}

}  // namespace vitrt
