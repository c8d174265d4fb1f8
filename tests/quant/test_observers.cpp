// Activation range observers (src/quant/observer.hpp) on data whose answer is known.
// Tolerances and why:
//   minmax, zero points, scales: exact (min/max are exact; the scale formula is checked in float).
//   percentile: the endpoint lies outside the exact sample quantile by less than one bin width, and
//               the bin width is below (hi - lo) / 2047 (power-of-two bins over 4096 slots).
//   split calls vs one call, 1 vs 2 threads: identical, bit for bit (the histogram is exact).
//   mse: measured quantization MSE (quantize, dequantize, average) must beat minmax, and be within
//        2% of the best of 300 clips searched directly on the data (the histogram places values at
//        bin centres, so its optimum is not exactly the measured one); with far outliers, where it
//        keeps the range, no worse than minmax + 0.1% (same reason).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include "quant/observer.hpp"
#include "vitrt/error.hpp"

namespace vitrt {
namespace {

std::vector<float> normals(int64_t n, uint32_t seed, float sigma = 1.f) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.f, sigma);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = d(g);
    return v;
}

std::vector<float> laplacian(int64_t n, uint32_t seed) {
    std::mt19937 g(seed);
    std::exponential_distribution<float> e(1.f);
    std::bernoulli_distribution sign(0.5);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = sign(g) ? e(g) : -e(g);
    return v;
}

ActQuant observe_all(CalibMethod m, const std::vector<float>& v, double p = 99.99) {
    RangeObserver o(m, p);
    o.observe(v.data(), int64_t(v.size()));
    return o.result();
}

// Mean squared error of quantizing v with a (round to nearest even, clamp to [0, 255]).
double quant_mse(const std::vector<float>& v, const ActQuant& a) {
    double s = 0;
    for (float x : v) {
        const float q = std::clamp(std::nearbyint(x / a.scale) + float(a.zero_point), 0.f, 255.f);
        const double d = double((q - float(a.zero_point)) * a.scale) - x;
        s += d * d;
    }
    return s / double(v.size());
}

void expect_same(const ActQuant& a, const ActQuant& b, const char* what) {
    EXPECT_EQ(a.scale, b.scale) << what;
    EXPECT_EQ(a.zero_point, b.zero_point) << what;
    EXPECT_EQ(a.lo, b.lo) << what;
    EXPECT_EQ(a.hi, b.hi) << what;
}

constexpr CalibMethod kAll[] = {CalibMethod::minmax, CalibMethod::percentile, CalibMethod::mse};

TEST(Observers, ParseAndNames) {
    for (CalibMethod m : kAll) EXPECT_EQ(parse_calib_method(calib_method_name(m)), m);
    for (const char* bad : {"", "MSE", "entropy", "min-max"}) {
        try {
            parse_calib_method(bad);
            FAIL() << "accepted '" << bad << "'";
        } catch (const Error& e) {
            const std::string msg = e.what();
            for (const char* name : {"minmax", "percentile", "mse"})
                EXPECT_NE(msg.find(name), std::string::npos) << msg;
        }
    }
}

TEST(Observers, BadArgumentsAreErrors) {
    EXPECT_THROW(RangeObserver(CalibMethod::percentile, 50.0), Error);
    EXPECT_THROW(RangeObserver(CalibMethod::percentile, 100.5), Error);
    EXPECT_THROW(RangeObserver(CalibMethod::percentile, NAN), Error);
    EXPECT_NO_THROW(RangeObserver(CalibMethod::minmax, 0.0));  // the percentile is not used
    EXPECT_THROW(RangeObserver(CalibMethod::mse).result(), Error);  // nothing observed
    EXPECT_THROW(act_quant_from_range(1.f, -1.f), Error);
    EXPECT_THROW(act_quant_from_range(NAN, 1.f), Error);
    EXPECT_THROW(act_quant_from_range(0.f, INFINITY), Error);

    // Non-finite activations: an Error naming the element, and the observer is left as it was.
    RangeObserver o(CalibMethod::mse);
    const std::vector<float> good{-1.f, 2.f};
    o.observe(good.data(), 2);
    const ActQuant before = o.result();
    for (float bad : {NAN, INFINITY, -INFINITY}) {
        std::vector<float> v(100000, 0.5f);
        v[77777] = bad;
        try {
            o.observe(v.data(), int64_t(v.size()));
            FAIL() << "accepted " << bad;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("77777"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(o.count(), 2);
    expect_same(o.result(), before, "after rejected batches");
    EXPECT_THROW(o.observe(good.data(), -1), Error);
    EXPECT_THROW(o.observe(nullptr, 3), Error);
    o.observe(nullptr, 0);  // empty batch: a no-op
    EXPECT_EQ(o.count(), 2);
}

TEST(Observers, OneHistogramAnswersForEveryMethod) {
    // --method auto reads every method's range from one mse observer: each must equal what an
    // observer made for that method gives on the same data.
    const std::vector<float> v = laplacian(50000, 11);
    RangeObserver all(CalibMethod::mse, 99.9);
    all.observe(v.data(), int64_t(v.size()));
    for (CalibMethod m : kAll) expect_same(all.result(m), observe_all(m, v, 99.9), calib_method_name(m));
    RangeObserver mm(CalibMethod::minmax);
    mm.observe(v.data(), int64_t(v.size()));
    EXPECT_THROW(mm.result(CalibMethod::mse), Error);  // a minmax observer keeps no histogram
    expect_same(mm.result(CalibMethod::minmax), observe_all(CalibMethod::minmax, v), "minmax");
    EXPECT_THROW(RangeObserver(CalibMethod::mse, 20.0), Error);  // its percentile is checked too
}

TEST(Observers, ActQuantFromRange) {
    // All positive (ReLU outputs): widened down to 0, zero point 0.
    ActQuant a = act_quant_from_range(1.f, 5.1f);
    EXPECT_EQ(a.lo, 0.f);
    EXPECT_EQ(a.hi, 5.1f);
    EXPECT_EQ(a.scale, float(5.1 / 255.0));
    EXPECT_EQ(a.zero_point, 0);
    // GELU outputs: min about -0.17, a small zero point. round(0.17 / (5.17 / 255)) = round(8.39).
    a = act_quant_from_range(-0.17f, 5.f);
    EXPECT_EQ(a.zero_point, 8);
    EXPECT_FLOAT_EQ(a.scale, 5.17f / 255.f);
    // All negative: widened up to 0, zero point 255.
    a = act_quant_from_range(-2.55f, -1.f);
    EXPECT_EQ(a.lo, -2.55f);
    EXPECT_EQ(a.hi, 0.f);
    EXPECT_FLOAT_EQ(a.scale, 0.01f);
    EXPECT_EQ(a.zero_point, 255);
    // Symmetric: the float scale rounds up from 2 / 255, so -lo / scale = 127.4999..: 127 (PyTorch too).
    a = act_quant_from_range(-1.f, 1.f);
    EXPECT_EQ(a.scale, float(2.0 / 255.0));
    EXPECT_EQ(a.zero_point, 127);
    // All zero (and -0): scale still > 0 (PyTorch's eps), 0 exact, no -0 leaking out.
    for (float z : {0.f, -0.f}) {
        a = act_quant_from_range(z, z);
        EXPECT_EQ(a.scale, FLT_EPSILON);
        EXPECT_EQ(a.zero_point, 0);
        EXPECT_FALSE(std::signbit(a.lo));
        EXPECT_FALSE(std::signbit(a.hi));
    }
    // Zero is always exactly representable: q = zp dequantizes to 0.
    for (auto [lo, hi] : {std::pair{-3.3f, 7.1f}, {-1e-3f, 1e3f}, {-1e3f, 1e-3f}, {-FLT_MAX, FLT_MAX}}) {
        a = act_quant_from_range(lo, hi);
        EXPECT_GT(a.scale, 0.f);
        EXPECT_TRUE(std::isfinite(a.scale));
        EXPECT_GE(a.zero_point, 0);
        EXPECT_LE(a.zero_point, 255);
        EXPECT_LE(std::fabs(-a.zero_point * double(a.scale) - lo), a.scale) << lo << " " << hi;  // grid starts within a step of lo
    }
}

TEST(Observers, MinmaxExact) {
    const std::vector<float> v{0.25f, -3.5f, 7.f, 1e-3f, -0.f, 6.999f, -3.49f};
    RangeObserver o(CalibMethod::minmax);
    o.observe(v.data(), 3);
    o.observe(v.data() + 3, 4);
    EXPECT_EQ(o.count(), 7);
    const ActQuant a = o.result();
    EXPECT_EQ(a.lo, -3.5f);
    EXPECT_EQ(a.hi, 7.f);
    expect_same(a, act_quant_from_range(-3.5f, 7.f), "minmax");
    // Large batches take the threaded path: still the exact extremes.
    std::vector<float> big = normals(300000, 1);
    big[123456] = -9.f;
    big[299999] = 11.f;
    const ActQuant b = observe_all(CalibMethod::minmax, big);
    EXPECT_EQ(b.lo, -9.f);
    EXPECT_EQ(b.hi, 11.f);
}

TEST(Observers, AllZeroAndOneSided) {
    const std::vector<float> zeros(1000, 0.f);
    for (CalibMethod m : kAll) {
        const ActQuant a = observe_all(m, zeros);
        EXPECT_EQ(a.lo, 0.f) << calib_method_name(m);
        EXPECT_EQ(a.hi, 0.f) << calib_method_name(m);
        EXPECT_GT(a.scale, 0.f) << calib_method_name(m);
        EXPECT_EQ(a.zero_point, 0) << calib_method_name(m);
    }
    // ReLU-like (all >= 0) and its mirror: zero point 0 and 255 for every method.
    std::vector<float> pos = normals(50000, 2), neg;
    for (float& x : pos) x = std::fabs(x);
    for (float x : pos) neg.push_back(-x);
    for (CalibMethod m : kAll) {
        const ActQuant p = observe_all(m, pos), n = observe_all(m, neg);
        EXPECT_EQ(p.lo, 0.f) << calib_method_name(m);
        EXPECT_EQ(p.zero_point, 0) << calib_method_name(m);
        EXPECT_EQ(n.hi, 0.f) << calib_method_name(m);
        EXPECT_EQ(n.zero_point, 255) << calib_method_name(m);
    }
}

TEST(Observers, PercentileClipsOutliers) {
    std::vector<float> v = normals(100000, 3);
    v.insert(v.end(), 10, 1000.f);
    const ActQuant mm = observe_all(CalibMethod::minmax, v);
    const ActQuant pc = observe_all(CalibMethod::percentile, v);
    EXPECT_EQ(mm.hi, 1000.f);
    EXPECT_LT(pc.hi, 10.f);
    EXPECT_GT(pc.hi, 3.f);
    EXPECT_LT(pc.lo, -3.f);
    // On the bulk (the normals), the percentile grid is ~100x finer: MSE down by over 1000x.
    const std::vector<float> bulk(v.begin(), v.end() - 10);
    EXPECT_LT(quant_mse(bulk, pc), 1e-3 * quant_mse(bulk, mm));
    // p = 100 is minmax, exactly.
    expect_same(observe_all(CalibMethod::percentile, v, 100.0), mm, "percentile 100");
}

TEST(Observers, PercentileWithinOneBinOfSampleQuantile) {
    // GELU-like: mostly positive with a small negative tail, observed in pieces so the range grows.
    std::vector<float> v = normals(200000, 4, 2.f);
    for (float& x : v) x = 0.5f * x * (1.f + std::erf(x / std::sqrt(2.f)));
    for (double p : {99.0, 99.9, 99.99}) {
        RangeObserver o(CalibMethod::percentile, p);
        for (size_t b = 0; b < v.size(); b += 30000) o.observe(v.data() + b, int64_t(std::min<size_t>(30000, v.size() - b)));
        const ActQuant a = o.result();
        std::vector<float> s = v;
        std::sort(s.begin(), s.end());
        const int64_t N = int64_t(s.size());
        const int64_t r = std::clamp(int64_t(std::ceil(p / 100.0 * double(N))), int64_t(1), N);
        const float q_hi = s[size_t(r - 1)], q_lo = std::min(s[size_t(N - r)], 0.f);
        const double bin = (double(s.back()) - double(std::min(s.front(), 0.f))) / 2047.0;
        EXPECT_GE(a.hi, q_hi) << p;
        EXPECT_LT(a.hi - q_hi, bin) << p;
        EXPECT_LE(a.lo, q_lo) << p;
        EXPECT_LT(q_lo - a.lo, bin) << p;
    }
}

TEST(Observers, MseNarrowerAndBetterThanMinmax) {
    const std::vector<float> v = laplacian(200000, 5);
    const ActQuant mm = observe_all(CalibMethod::minmax, v);
    const ActQuant ms = observe_all(CalibMethod::mse, v);
    EXPECT_GT(ms.lo, mm.lo);
    EXPECT_LT(ms.hi, mm.hi);
    const double e_mm = quant_mse(v, mm), e_ms = quant_mse(v, ms);
    EXPECT_LT(e_ms, e_mm);
    // Against a direct search on the data: clips [-c, c] for 100 c up to the largest |x|, and
    // one-sided clips [lo_mm, c] and [-c, hi_mm].
    double best = e_mm;
    const float amax = std::max(-mm.lo, mm.hi);
    for (int i = 1; i <= 100; ++i) {
        const float c = amax * float(i) / 100.f;
        best = std::min({best, quant_mse(v, act_quant_from_range(-c, c)),
                         quant_mse(v, act_quant_from_range(mm.lo, std::min(c, mm.hi))),
                         quant_mse(v, act_quant_from_range(std::max(-c, mm.lo), mm.hi))});
    }
    EXPECT_LE(e_ms, 1.02 * best) << "mse " << e_ms << " best direct " << best << " minmax " << e_mm;
    // Heavy far outliers are worth keeping under MSE (10 values at 1000 cost more clipped than the
    // coarse grid costs the bulk, most of which rounds to 0 exactly): mse must keep the top of the
    // range, where percentile clips it, and be no worse than minmax (it is never worse under the
    // histogram; 0.1% for bin centres vs the data).
    std::vector<float> w = normals(100000, 6);
    w.insert(w.end(), 10, 1000.f);
    const ActQuant mw = observe_all(CalibMethod::mse, w);
    EXPECT_GT(mw.hi, 900.f);
    EXPECT_LT(quant_mse(w, mw), 0.1 * quant_mse(w, observe_all(CalibMethod::percentile, w)));
    EXPECT_LE(quant_mse(w, mw), quant_mse(w, observe_all(CalibMethod::minmax, w)) * 1.001);
}

TEST(Observers, SplitCallsEqualOneCall) {
    // Small values first, then growing: every later batch widens the range (bins merge), and one
    // batch is large enough for the threaded path.
    std::vector<float> v;
    for (float s : {0.01f, 0.5f, 3.f, 40.f}) {
        const std::vector<float> part = normals(s == 3.f ? 150000 : 7001, uint32_t(s * 100), s);
        v.insert(v.end(), part.begin(), part.end());
    }
    v.push_back(-0.f);
    for (CalibMethod m : kAll) {
        RangeObserver split(m, 99.9);
        const int64_t cuts[] = {0, 1, 17, 7001, 9000, 100000, 164002, int64_t(v.size())};
        for (size_t i = 0; i + 1 < std::size(cuts); ++i) split.observe(v.data() + cuts[i], cuts[i + 1] - cuts[i]);
        EXPECT_EQ(split.count(), int64_t(v.size()));
        expect_same(split.result(), observe_all(m, v, 99.9), calib_method_name(m));
        // And reversed order of batches (same multiset of values).
        RangeObserver rev(m, 99.9);
        for (size_t i = std::size(cuts) - 1; i > 0; --i) rev.observe(v.data() + cuts[i - 1], cuts[i] - cuts[i - 1]);
        expect_same(rev.result(), split.result(), calib_method_name(m));
    }
}

TEST(Observers, ThreadCountIndependent) {
    const std::vector<float> v = laplacian(400000, 7);
    const int saved = omp_get_max_threads();
    for (CalibMethod m : kAll) {
        ActQuant r[2];
        for (int t : {1, 2}) {
            omp_set_num_threads(t);
            RangeObserver o(m);
            o.observe(v.data(), 250000);
            o.observe(v.data() + 250000, int64_t(v.size()) - 250000);
            r[t - 1] = o.result();
        }
        expect_same(r[0], r[1], calib_method_name(m));
    }
    omp_set_num_threads(saved);
}

}  // namespace
}  // namespace vitrt
