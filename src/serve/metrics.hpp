// Prometheus metrics for `vitrt serve`: counters, gauges and histograms keyed by a label set,
// rendered in the text exposition format (version 0.0.4) at GET /metrics.
//
// Deliberately small: one mutex per registry (a few hundred updates per second at most on CPU),
// label sets are bounded by the server (model names are fixed at start-up, status codes are few),
// so memory stays bounded whatever clients send.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace vitrt::serve {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
public:
    // Declares a family (name, help, type "counter"|"gauge"|"histogram"); histograms take bucket
    // upper bounds in seconds (the +Inf bucket is implicit).
    void declare(const std::string& name, const std::string& help, const std::string& type,
                 std::vector<double> buckets = {});
    void add(const std::string& name, const Labels& labels, double v = 1.0);   // counter or gauge
    void set(const std::string& name, const Labels& labels, double v);         // gauge
    void observe(const std::string& name, const Labels& labels, double v);     // histogram
    void touch(const std::string& name, const Labels& labels);  // exposes a series before its first update
    double value(const std::string& name, const Labels& labels) const;         // counter/gauge, 0 if unseen
    std::string render() const;

    static std::vector<double> latency_buckets();  // 0.5 ms .. 10 s

private:
    struct Series {
        double value = 0;                 // counter / gauge
        std::vector<unsigned long long> counts;  // histogram: one per bucket, then +Inf
        double sum = 0;
    };
    struct Family {
        std::string help, type;
        std::vector<double> buckets;
        std::map<Labels, Series> series;
    };
    Family& family(const std::string& name);
    mutable std::mutex mutex_;
    std::vector<std::string> order_;
    std::map<std::string, Family> families_;
};

}  // namespace vitrt::serve
