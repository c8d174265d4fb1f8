// Activation range observers for post-training static int8 calibration: per-tensor u8 with a zero
// point, x ~ (q - zero_point) * scale, q in [0, 255]. One RangeObserver per linear layer input;
// observe() sees the whole [M, K] activation of every calibration forward, result() gives the
// quantization parameters.
//   minmax:     running min and max (exact).
//   percentile: both tails clipped at the given percentile (hi at p, lo at 100 - p), as
//               TensorRT / pytorch-quantization's percentile calibrator, but per side (u8 + zero
//               point) instead of on |x|.
//   mse:        the clip [lo, hi] minimising the squared quantization error under the histogram.
//               Global search over every pair of bin edges (lo <= 0 <= hi) with the model
//               rounding (hi - lo)^2 / (12 * 255^2) per value inside, (x - clip)^2 per value
//               outside; then, from the better of that pick and minmax, coordinate descent (one
//               side at a time, every edge) on the exact error of the bin centres quantized on the
//               real grid: the model overstates rounding error when the u8 step is not small against
//               the bulk (far outliers), and would clip the bulk. Never worse than minmax on the
//               histogram. result() costs O(kBins^2): a few ms to tens of ms.
// Histogram (percentile, mse): kBins bins of width w = 2^e over the running range widened to 0.
// Values land in bin floor(x / w) (exact: w is a power of two); when the range outgrows the
// window, e grows and bins merge pairwise (floor(floor(x / w) / 2) = floor(x / 2w)), which is
// exact too. So the histogram depends only on the multiset of values seen: many observe() calls
// equal one call on their concatenation, bit for bit, whatever the thread count (min/max are exact,
// counts are integers). w is the smallest power of two that fits, so w < (hi - lo) / 2047 with
// hi = max(max, 0), lo = min(min, 0): under an eighth of the u8 step (hi - lo) / 255.
// Approximation: a percentile endpoint is the outer edge of the bin holding the sample quantile,
// clamped to [min, max], so it exceeds the exact sample quantile (outwards) by less than w; the
// mse clip is optimal to within w, with each bin's values taken at its centre.
// Non-finite activations are a vitrt::Error (calibrating through a NaN would give garbage scales).
// Tests: tests/quant/test_observers.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vitrt {

enum class CalibMethod { minmax, percentile, mse };
// Every method, in a fixed order (per-layer method choice tries them in this order).
inline constexpr CalibMethod kCalibMethods[] = {CalibMethod::minmax, CalibMethod::percentile, CalibMethod::mse};

// "minmax" | "percentile" | "mse"; vitrt::Error listing them otherwise.
CalibMethod parse_calib_method(const std::string& s);
const char* calib_method_name(CalibMethod m);

// x ~ (q - zero_point) * scale, q in [0, 255]. lo and hi: the range chosen (widened to include 0);
// the grid itself spans [-zero_point * scale, (255 - zero_point) * scale] (zero point rounded).
struct ActQuant {
    float scale = 1.f;
    int zero_point = 0;
    float lo = 0.f, hi = 0.f;
};

// Widens [lo, hi] to include 0 (so 0 is exact, as PyTorch and TensorRT do), scale = (hi - lo) / 255
// floored at FLT_EPSILON (PyTorch's eps: an all-zero range still gets scale > 0),
// zero_point = clamp(round(-lo / scale), 0, 255), ties to even. vitrt::Error on non-finite input.
ActQuant act_quant_from_range(float lo, float hi);

class RangeObserver {
public:
    static constexpr int kBins = 4096;

    // percentile in (50, 100] (checked unless m is minmax) is what result(CalibMethod::percentile)
    // uses (100 gives minmax).
    explicit RangeObserver(CalibMethod m, double percentile = 99.99);

    // Any number of calls, any n >= 0 (n = 0 is a no-op). Two passes over x: min/max (vectorised),
    // then, for percentile and mse, the histogram (per-thread histograms summed; OpenMP above
    // 64k values). On non-finite values throws vitrt::Error and leaves the observer unchanged.
    void observe(const float* x, int64_t n);
    // Deterministic. vitrt::Error when nothing was observed.
    ActQuant result() const { return result(method_); }
    // The range another method picks from the same observations: any method for an observer made
    // for percentile or mse (they keep the histogram), minmax only for a minmax one (vitrt::Error).
    ActQuant result(CalibMethod m) const;
    int64_t count() const { return count_; }
    CalibMethod method() const { return method_; }

private:
    void grow_to(float lo, float hi);
    double edge(int64_t g) const;  // value of the lower edge of global bin g
    ActQuant percentile_result() const;
    ActQuant mse_result() const;

    CalibMethod method_;
    double percentile_;
    int64_t count_ = 0;
    float min_ = 0.f, max_ = 0.f;  // of the data (valid when count_ > 0)
    // Histogram: bin i holds the values x with floor(x / 2^exp_) == first_ + i.
    int exp_;
    int64_t first_ = 0;
    std::vector<int64_t> hist_;
    std::vector<int64_t> scratch_;  // per-thread histograms
};

}  // namespace vitrt
