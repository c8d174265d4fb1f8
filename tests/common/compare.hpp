// Comparing outputs with references: max |a - b| (NaN-aware), argmax, cosine similarity.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace vitrt::test {

// max |a[i] - b[i]|; NaN if any difference is NaN (so every EXPECT_LE on it fails).
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    double m = 0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        const double d = std::fabs(double(a[i]) - double(b[i]));
        if (std::isnan(d)) return d;
        m = std::max(m, d);
    }
    return m;
}

inline int argmax(const float* v, int n) { return int(std::max_element(v, v + n) - v); }

inline double cosine(const float* a, const float* b, int n) {
    double dot = 0, na = 0, nb = 0;
    for (int k = 0; k < n; ++k) {
        dot += double(a[k]) * b[k];
        na += double(a[k]) * a[k];
        nb += double(b[k]) * b[k];
    }
    return dot / std::sqrt(na * nb);
}

}  // namespace vitrt::test
