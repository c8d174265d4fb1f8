#include "quant/observer.hpp"

#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "vitrt/error.hpp"

namespace vitrt {

namespace {

constexpr int kMinExp = -100;              // bin width floor 2^-100: values below it share bin 0 or -1
constexpr int64_t kParallelMin = 1 << 16;  // below this, threads cost more than they save
constexpr double kRoundingVar = 1.0 / (12.0 * 255.0 * 255.0);  // rounding MSE per (hi - lo)^2

// Global bin of x for bin width 2^e (t = x * 2^-e is exact); floor without libm so it vectorises.
inline int bin_of(float x, float inv_w) {
    const float t = x * inv_w;
    const int k = int(t);
    return k - int(t < float(k));
}

// True when [lo, hi] spans at most kBins bins of width 2^e.
bool fits(float lo, float hi, int e) {
    const double inv = std::ldexp(1.0, -e);
    return std::floor(double(hi) * inv) - std::floor(double(lo) * inv) + 1 <= RangeObserver::kBins;
}

// Squared error of quantizing values ms (with counts cs) on the grid act_quant_from_range(lo, hi) gives.
double histogram_error(const std::vector<double>& cs, const std::vector<double>& ms, double lo, double hi) {
    const ActQuant a = act_quant_from_range(float(lo), float(hi));
    const double inv = 1.0 / double(a.scale), s = a.scale, zp = a.zero_point;
    constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52: (v + kRound) - kRound rounds to even
    // Four partial sums in a fixed order: vectorises, and stays deterministic.
    const double *c = cs.data(), *m = ms.data();
    const int64_t n = int64_t(cs.size());
    double e[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n; i += 4)  // n is a multiple of 4 (padded with zero counts)
        for (int64_t l = 0; l < 4; ++l) {
            const double x = m[i + l], w = c[i + l];
            const double v = std::min(std::max(x * inv + zp, 0.0), 255.0);  // clamp first: zp and bounds are integers
            const double d = ((v + kRound) - kRound - zp) * s - x;
            e[l] += w * d * d;
        }
    return (e[0] + e[1]) + (e[2] + e[3]);
}

// Bin indices a block at a time (vectorised), then the scatter.
void fill(int64_t* h, const float* x, int64_t n, float inv_w, int first) {
    constexpr int64_t kBlock = 512;
    int idx[kBlock];
    for (int64_t b = 0; b < n; b += kBlock) {
        const int64_t m = std::min(kBlock, n - b);
        for (int64_t i = 0; i < m; ++i) idx[i] = bin_of(x[b + i], inv_w) - first;
        for (int64_t i = 0; i < m; ++i) ++h[idx[i]];
    }
}

}  // namespace

CalibMethod parse_calib_method(const std::string& s) {
    if (s == "minmax") return CalibMethod::minmax;
    if (s == "percentile") return CalibMethod::percentile;
    if (s == "mse") return CalibMethod::mse;
    throw Error("unknown calibration method '" + s + "'; expected one of: minmax, percentile, mse");
}

const char* calib_method_name(CalibMethod m) {
    switch (m) {
        case CalibMethod::minmax: return "minmax";
        case CalibMethod::percentile: return "percentile";
        case CalibMethod::mse: return "mse";
    }
    return "?";
}

ActQuant act_quant_from_range(float lo, float hi) {
    check(std::isfinite(lo) && std::isfinite(hi),
          "act_quant_from_range: non-finite range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    check(lo <= hi, "act_quant_from_range: lo " + std::to_string(lo) + " > hi " + std::to_string(hi));
    ActQuant a;
    a.lo = std::min(lo, 0.f) + 0.f;  // + 0 turns -0 into +0: the result must not depend on which zero came first
    a.hi = std::max(hi, 0.f) + 0.f;
    // In double: hi - lo may overflow float (the scale, a 255th of it, does not).
    a.scale = float(std::max((double(a.hi) - double(a.lo)) / 255.0, double(FLT_EPSILON)));
    a.zero_point = int(std::clamp(std::nearbyint(-double(a.lo) / a.scale), 0.0, 255.0));
    return a;
}

RangeObserver::RangeObserver(CalibMethod m, double percentile) : method_(m), percentile_(percentile), exp_(kMinExp) {
    check(m == CalibMethod::minmax || m == CalibMethod::percentile || m == CalibMethod::mse,
          "RangeObserver: unknown calibration method");
    if (m != CalibMethod::minmax)  // mse observers can answer for percentile too (result(m))
        check(percentile > 50.0 && percentile <= 100.0,
              "RangeObserver: percentile must be in (50, 100] (the upper tail's; the lower tail is clipped at 100 - p), got " +
                  std::to_string(percentile));
    if (m != CalibMethod::minmax) hist_.assign(kBins, 0);
}

double RangeObserver::edge(int64_t g) const { return std::ldexp(double(g), exp_); }

void RangeObserver::grow_to(float lo, float hi) {
    int e = exp_;
    while (!fits(lo, hi, e)) ++e;
    const int64_t first = int64_t(std::floor(std::ldexp(double(lo), -e)));
    if (e == exp_ && first == first_) return;
    // Merge: global bin g at exponent exp_ is bin g >> shift at e (arithmetic shift = floor).
    const int shift = std::min(e - exp_, 62);
    std::vector<int64_t> merged(kBins, 0);
    for (int i = 0; i < kBins; ++i)
        if (hist_[i]) merged[size_t(((first_ + i) >> shift) - first)] += hist_[i];
    hist_.swap(merged);
    exp_ = e;
    first_ = first;
}

void RangeObserver::observe(const float* x, int64_t n) {
    check(n >= 0, "RangeObserver::observe: negative count " + std::to_string(n));
    if (n == 0) return;
    check(x != nullptr, "RangeObserver::observe: null data");
    // Pass 1: min, max, and a NaN/Inf flag (x * 0 is +-0 for finite x, NaN otherwise). All three
    // reductions are order-independent, so thread count cannot change them.
    float lo = x[0], hi = x[0], bad = 0.f;
#pragma omp parallel for simd reduction(min : lo) reduction(max : hi) reduction(+ : bad) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
        bad += x[i] * 0.f;
    }
    if (!(bad == 0.f)) {
        int64_t at = 0;
        while (at < n && std::isfinite(x[at])) ++at;
        throw Error("RangeObserver::observe: non-finite activation " + std::to_string(x[at]) + " at element " +
                    std::to_string(at) + " of " + std::to_string(n) +
                    "; the float model overflows on this input: check the model and its preprocessing before calibrating");
    }
    min_ = count_ ? std::min(min_, lo) : lo;
    max_ = count_ ? std::max(max_, hi) : hi;
    count_ += n;
    if (method_ == CalibMethod::minmax) return;

    // Pass 2: the histogram over [min(min, 0), max(max, 0)].
    grow_to(std::min(min_, 0.f), std::max(max_, 0.f));
    const float inv_w = std::ldexp(1.f, -exp_);
    const int first = int(first_);
    const int threads = n >= kParallelMin ? omp_get_max_threads() : 1;
    if (threads <= 1) {
        fill(hist_.data(), x, n, inv_w, first);
        return;
    }
    scratch_.assign(size_t(threads) * kBins, 0);  // a smaller team leaves its spare rows zero
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num(), T = omp_get_num_threads();
        const int64_t b = n * t / T, e = n * (t + 1) / T;
        fill(scratch_.data() + size_t(t) * kBins, x + b, e - b, inv_w, first);
    }
    for (int t = 0; t < threads; ++t)
        for (int i = 0; i < kBins; ++i) hist_[i] += scratch_[size_t(t) * kBins + i];
}

ActQuant RangeObserver::result(CalibMethod m) const {
    check(count_ > 0, std::string("RangeObserver::result (") + calib_method_name(m) +
                          "): no activations observed; run the calibration images through the model first");
    check(m == CalibMethod::minmax || !hist_.empty(), std::string("RangeObserver::result: a minmax observer keeps no "
                                                                  "histogram, so it cannot give ") +
                                                          calib_method_name(m));
    switch (m) {
        case CalibMethod::minmax: return act_quant_from_range(min_, max_);
        case CalibMethod::percentile: return percentile_result();
        case CalibMethod::mse: return mse_result();
    }
    throw Error("RangeObserver::result: unknown calibration method");
}

ActQuant RangeObserver::percentile_result() const {
    // hi: the upper edge of the bin holding the r-th smallest value, r = ceil(p% of N); lo: the
    // lower edge of the bin holding the r-th largest. Both clamped to the data (p = 100 is minmax).
    const int64_t N = count_;
    const int64_t r_hi = std::clamp(int64_t(std::ceil(percentile_ / 100.0 * double(N))), int64_t(1), N);
    const int64_t r_lo = N - r_hi + 1;
    int b_lo = -1, b_hi = -1;
    int64_t cum = 0;
    for (int i = 0; i < kBins && b_hi < 0; ++i) {
        cum += hist_[i];
        if (b_lo < 0 && cum >= r_lo) b_lo = i;
        if (cum >= r_hi) b_hi = i;
    }
    const double lo = std::max(double(min_), edge(first_ + b_lo));
    const double hi = std::min(double(max_), edge(first_ + b_hi + 1));
    return act_quant_from_range(float(lo), float(hi));
}

ActQuant RangeObserver::mse_result() const {
    const double w = std::ldexp(1.0, exp_);
    const int z = int(-first_);  // bin z starts at 0
    // Each bin's values taken at its centre, clamped to the data.
    std::vector<double> m(kBins);
    for (int i = 0; i < kBins; ++i) m[i] = std::clamp((double(first_ + i) + 0.5) * w, double(min_), double(max_));
    // Candidates: hi_j = min(j w, max), j = 0..J, clipping bins >= z + j; lo_k = max(-k w, min),
    // k = 0..K, clipping bins < z - k. Tail sums by suffix / prefix moments.
    const int J = max_ > 0.f ? int(std::ceil(double(max_) / w)) : 0;
    const int K = min_ < 0.f ? int(std::ceil(-double(min_) / w)) : 0;
    std::vector<double> hi_v(J + 1), hi_err(J + 1), hi_cnt(J + 1), lo_v(K + 1), lo_err(K + 1), lo_cnt(K + 1);
    {
        double s0 = 0, s1 = 0, s2 = 0;
        int i = kBins;
        for (int j = J; j >= 0; --j) {
            for (; i > z + j; --i) {
                const double c = double(hist_[i - 1]);
                s0 += c, s1 += c * m[i - 1], s2 += c * m[i - 1] * m[i - 1];
            }
            const double h = std::max(0.0, std::min(j * w, double(max_)));  // 0 when all data <= 0
            hi_v[j] = h, hi_cnt[j] = s0, hi_err[j] = std::max(0.0, s2 - 2 * h * s1 + h * h * s0);
        }
    }
    {
        double s0 = 0, s1 = 0, s2 = 0;
        int i = 0;
        for (int k = K; k >= 0; --k) {
            for (; i < z - k; ++i) {
                const double c = double(hist_[i]);
                s0 += c, s1 += c * m[i], s2 += c * m[i] * m[i];
            }
            const double l = std::min(0.0, std::max(-k * w, double(min_)));
            lo_v[k] = l, lo_cnt[k] = s0, lo_err[k] = std::max(0.0, s2 - 2 * l * s1 + l * l * s0);
        }
    }
    // Stage 1, global: every (lo, hi) pair under the model (O(1) each, at most ~(kBins / 2)^2 pairs).
    const double N = double(count_);
    double best = INFINITY;
    int bj = J, bk = K;
    for (int j = 0; j <= J; ++j)
        for (int k = 0; k <= K; ++k) {
            const double d = hi_v[j] - lo_v[k];
            const double err = hi_err[j] + lo_err[k] + (N - hi_cnt[j] - lo_cnt[k]) * d * d * kRoundingVar;
            if (err < best) best = err, bj = j, bk = k;
        }
    // Stage 2, local: the model overstates rounding error when the u8 step is not small against
    // the spread of the bulk (heavy far outliers: most values sit within a step of 0, which is
    // exact), and then clips the bulk. So start from the better of the model's pick and minmax
    // under the exact histogram error (bin centres quantized on the real grid, zero point rounded)
    // and descend one side at a time under that error: never worse than minmax on the histogram.
    std::vector<double> cs, ms;
    for (int i = 0; i < kBins; ++i)
        if (hist_[i]) cs.push_back(double(hist_[i])), ms.push_back(m[i]);
    while (cs.size() % 4) cs.push_back(0.0), ms.push_back(0.0);
    const auto exact = [&](int j, int k) { return histogram_error(cs, ms, lo_v[k], hi_v[j]); };
    double cur = exact(J, K);
    if (const double e = exact(bj, bk); e <= cur) cur = e;
    else bj = J, bk = K;
    for (int it = 0; it < 4; ++it) {
        const int j0 = bj, k0 = bk;
        for (int j = 0; j <= J; ++j)
            if (const double e = exact(j, bk); e < cur) cur = e, bj = j;
        for (int k = 0; k <= K; ++k)
            if (const double e = exact(bj, k); e < cur) cur = e, bk = k;
        if (bj == j0 && bk == k0) break;
    }
    return act_quant_from_range(float(lo_v[bk]), float(hi_v[bj]));
}

}  // namespace vitrt
