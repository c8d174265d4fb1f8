#include "serve/metrics.hpp"

#include <cstdio>
#include <stdexcept>

namespace vitrt::serve {
namespace {

std::string escape_label(const std::string& s) {
    std::string r;
    for (char c : s) {
        if (c == '\\' || c == '"') r += '\\';
        if (c == '\n') {
            r += "\\n";
            continue;
        }
        r += c;
    }
    return r;
}

std::string label_text(const Labels& labels, const std::string& extra_key = "", const std::string& extra = "") {
    std::string r;
    for (const auto& [k, v] : labels) r += (r.empty() ? "" : ",") + k + "=\"" + escape_label(v) + "\"";
    if (!extra_key.empty()) r += (r.empty() ? "" : ",") + extra_key + "=\"" + extra + "\"";
    return r.empty() ? "" : "{" + r + "}";
}

std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

}  // namespace

void Metrics::declare(const std::string& name, const std::string& help, const std::string& type,
                      std::vector<double> buckets) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (families_.count(name)) return;
    order_.push_back(name);
    families_[name] = Family{help, type, std::move(buckets), {}};
}

Metrics::Family& Metrics::family(const std::string& name) {
    auto it = families_.find(name);
    if (it == families_.end()) throw std::logic_error("metric not declared: " + name);
    return it->second;
}

void Metrics::add(const std::string& name, const Labels& labels, double v) {
    std::lock_guard<std::mutex> lock(mutex_);
    family(name).series[labels].value += v;
}

void Metrics::set(const std::string& name, const Labels& labels, double v) {
    std::lock_guard<std::mutex> lock(mutex_);
    family(name).series[labels].value = v;
}

void Metrics::observe(const std::string& name, const Labels& labels, double v) {
    std::lock_guard<std::mutex> lock(mutex_);
    Family& f = family(name);
    Series& s = f.series[labels];
    if (s.counts.empty()) s.counts.assign(f.buckets.size() + 1, 0);
    size_t b = 0;
    while (b < f.buckets.size() && v > f.buckets[b]) ++b;
    ++s.counts[b];
    s.sum += v;
}

void Metrics::touch(const std::string& name, const Labels& labels) {
    std::lock_guard<std::mutex> lock(mutex_);
    Family& f = family(name);
    Series& s = f.series[labels];
    if (f.type == "histogram" && s.counts.empty()) s.counts.assign(f.buckets.size() + 1, 0);
}

double Metrics::value(const std::string& name, const Labels& labels) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = families_.find(name);
    if (it == families_.end()) return 0;
    auto s = it->second.series.find(labels);
    return s == it->second.series.end() ? 0 : s->second.value;
}

std::string Metrics::render() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out;
    for (const auto& name : order_) {
        const Family& f = families_.at(name);
        out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
        for (const auto& [labels, s] : f.series) {
            if (f.type != "histogram") {
                out += name + label_text(labels) + " " + num(s.value) + "\n";
                continue;
            }
            unsigned long long cum = 0;
            for (size_t b = 0; b <= f.buckets.size(); ++b) {
                cum += s.counts[b];
                out += name + "_bucket" + label_text(labels, "le", b < f.buckets.size() ? num(f.buckets[b]) : "+Inf") +
                       " " + std::to_string(cum) + "\n";
            }
            out += name + "_sum" + label_text(labels) + " " + num(s.sum) + "\n";
            out += name + "_count" + label_text(labels) + " " + std::to_string(cum) + "\n";
        }
    }
    return out;
}

std::vector<double> Metrics::latency_buckets() {
    return {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10};
}

}  // namespace vitrt::serve
