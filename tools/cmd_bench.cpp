// vitrt bench: latency and throughput per batch size, stamped with machine, backend and commit.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>

#include "cli_common.hpp"

#ifndef VITRT_GIT_COMMIT
#define VITRT_GIT_COMMIT "unknown"
#endif

namespace vitrt::cli {
namespace {

using clock_type = std::chrono::steady_clock;

std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

struct BenchArgs {
    EngineFlags engine;
    std::vector<int> batches{1, 8};
    int warmup = 2;
    int runs = 10;
    bool json = false;
    bool profile = false;
};

struct Row {
    int batch;
    double median_ms, min_ms, max_ms, p90_ms, p99_ms;
};

// Nearest-rank percentile of sorted samples: the smallest value with at least q of the samples
// at or below it (with 10 runs, p90 is the 9th fastest and p99 the slowest).
double percentile(const std::vector<double>& sorted, double q) {
    const size_t rank = size_t(std::ceil(q * double(sorted.size())));
    return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

int bench(const BenchArgs& a) {
    const auto t0 = clock_type::now();
    auto engine = a.engine.load();
    const double load_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    const ModelInfo& info = engine->info();
    std::vector<Row> rows;
    std::mt19937 g(0);
    std::normal_distribution<float> nd;
    for (int b : a.batches) {
        check(b > 0 && b <= 4096, "batch sizes must be 1 to 4096 (got " + std::to_string(b) + ")");
        std::vector<float> in(engine->input_size() * size_t(b));
        for (float& v : in) v = nd(g);
        std::vector<float> out(size_t(engine->num_classes()) * size_t(b));
        for (int i = 0; i < a.warmup; ++i) engine->run(in.data(), b, out.data());
        std::vector<double> ms;
        for (int i = 0; i < a.runs; ++i) {
            const auto s = clock_type::now();
            engine->run(in.data(), b, out.data());
            ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - s).count());
        }
        if (a.profile) {  // separate runs: per-op synchronisation must not skew the timings above
            engine->enable_profiling(true);
            for (int i = 0; i < a.runs; ++i) engine->run(in.data(), b, out.data());
            double total = 0;
            for (const auto& [k, s] : engine->profile_seconds()) total += s;
            std::printf("profile batch %d (%d runs):", b, a.runs);
            for (const auto& [k, s] : engine->profile_seconds())
                std::printf("  %s %.2f ms (%.0f%%)", k.c_str(), 1e3 * s / a.runs, 100.0 * s / total);
            std::printf("\n");
            engine->enable_profiling(false);
        }
        std::sort(ms.begin(), ms.end());
        const double med = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
        rows.push_back({b, med, ms.front(), ms.back(), percentile(ms, 0.90), percentile(ms, 0.99)});
    }
    if (a.json) {
        std::cout << "{\"model\": \"" << json_escape(info.architecture) << "\", \"backend\": \"" << json_escape(info.backend)
                  << "\", \"precision\": \"" << a.engine.options.precision << "\", \"cpu\": \"" << json_escape(cpu_model())
                  << "\", \"commit\": \"" << VITRT_GIT_COMMIT << "\", \"gflop_per_image\": " << info.flops / 1e9
                  << ", \"load_ms\": " << load_ms << ", \"results\": [";
        for (size_t i = 0; i < rows.size(); ++i) {
            const Row& r = rows[i];
            std::cout << (i ? ", " : "") << "{\"batch\": " << r.batch << ", \"median_ms\": " << r.median_ms
                      << ", \"min_ms\": " << r.min_ms << ", \"p90_ms\": " << r.p90_ms << ", \"p99_ms\": " << r.p99_ms
                      << ", \"max_ms\": " << r.max_ms
                      << ", \"images_per_s\": " << r.batch / (r.median_ms / 1e3)
                      << ", \"gflops\": " << info.flops * r.batch / (r.median_ms / 1e3) / 1e9 << "}";
        }
        std::cout << "]}\n";
        return 0;
    }
    std::printf("model     %s (%.2f GFLOP/image, %s)\n", info.architecture.c_str(), info.flops / 1e9,
                a.engine.options.precision.c_str());
    std::printf("backend   %s\n", info.backend.c_str());
    std::printf("cpu       %s\n", cpu_model().c_str());
    std::printf("commit    %s\n", VITRT_GIT_COMMIT);
    std::printf("load      %.1f ms\n", load_ms);
    std::printf("runs      %d (after %d warm-up)\n\n", a.runs, a.warmup);
    std::printf("%6s %12s %10s %10s %10s %10s %10s %12s %10s\n", "batch", "median ms", "min ms", "p90 ms", "p99 ms",
                "max ms", "spread %", "images/s", "GFLOP/s");
    for (const Row& r : rows)
        std::printf("%6d %12.2f %10.2f %10.2f %10.2f %10.2f %10.1f %12.1f %10.1f\n", r.batch, r.median_ms, r.min_ms,
                    r.p90_ms, r.p99_ms, r.max_ms, 100.0 * (r.max_ms - r.min_ms) / r.median_ms,
                    r.batch / (r.median_ms / 1e3),
                    info.flops * r.batch / (r.median_ms / 1e3) / 1e9);
    return 0;
}

}  // namespace

void add_bench(CLI::App& root) {
    auto a = std::make_shared<BenchArgs>();
    CLI::App* app = root.add_subcommand("bench", "latency/throughput on random inputs, per batch size");
    a->engine.add_to(*app);
    app->add_option("--batch,-b", a->batches, "batch sizes, e.g. 1,8,32 (each 1 to 4096)")->delimiter(',')->check(int_range(1, 4096));
    app->add_option("--warmup", a->warmup, "untimed runs per batch size")->check(int_range(0, 1000000));
    app->add_option("--runs", a->runs, "timed runs per batch size (p90/p99 are nearest-rank: use >= 100 runs for a meaningful p99)")
        ->check(int_range(1, 1000000));
    app->add_flag("--json", a->json, "one JSON object");
    app->add_flag("--profile", a->profile, "also print time per op kind (GEMM, attention, norm, ...)");
    app->final_callback([a]() { throw CLI::RuntimeError(bench(*a)); });
}

}  // namespace vitrt::cli
