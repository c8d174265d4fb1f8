// vitrt quantize: post-training quantization of a ViT-family checkpoint into a quantized
// safetensors file that every command (classify, bench, info, forward, eval) loads directly.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_common.hpp"
#include "quant/quantize_model.hpp"

namespace fs = std::filesystem;

namespace vitrt::cli {
namespace {

// A directory (walked for images) or a CSV whose first column is an image path, relative to the
// CSV's folder or its parent (the layout of ../shared/data/images/*/labels.csv).
std::vector<std::string> calibration_list(const std::string& calib) {
    std::error_code ec;
    check(fs::exists(calib, ec), "--calib " + calib + ": no such file or directory");
    if (fs::is_directory(calib, ec)) return list_images({calib});
    std::ifstream f(calib);
    check(bool(f), "--calib " + calib + ": cannot read");
    const fs::path dir = fs::path(calib).parent_path();
    std::vector<std::string> out;
    std::string line;
    int lineno = 0;
    while (std::getline(f, line)) {
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        std::string path = line.substr(0, line.find(','));
        if (lineno == 1 && path == "path") continue;  // header
        check(!path.empty(), calib + ":" + std::to_string(lineno) + ": empty path");
        fs::path p = fs::path(path).is_absolute() ? fs::path(path) : dir / path;
        if (!fs::exists(p, ec) && !fs::path(path).is_absolute() && fs::exists(dir.parent_path() / path, ec))
            p = dir.parent_path() / path;
        out.push_back(p.string());
    }
    check(!out.empty(), calib + ": no image paths");
    return out;
}

std::vector<std::string> split_names(const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (const auto& s : in) {
        std::stringstream ss(s);
        for (std::string part; std::getline(ss, part, ',');)
            if (!part.empty()) out.push_back(part);
    }
    return out;
}

}  // namespace

void add_quantize(CLI::App& root) {
    struct Flags {
        std::string model, calib, scheme = "w8a8", method = "percentile", out;
        int num = 0, group = 128, auto_float = 0, threads = 0, batch = 8;
        double percentile = 99.99;
        bool quantize_head = false;
        std::vector<std::string> keep_float;
    };
    auto f = std::make_shared<Flags>();
    CLI::App* app = root.add_subcommand(
        "quantize", "post-training int8/int4 quantization into a file every command loads (ViT family)");
    app->add_option("--model,-m", f->model, "float checkpoint (file or directory); default: bundled ViT-Ti/16");
    app->add_option("--calib", f->calib, "calibration images: a directory, or a CSV whose first column is a path")
        ->required();
    app->add_option("--num", f->num, "use the first N calibration images (sorted); 0 = all")->check(CLI::NonNegativeNumber);
    app->add_option("--scheme", f->scheme,
                    "w8a8 (static: calibrated u8 inputs, s8 per-channel weights), w8a8-dynamic (per-token input "
                    "scales at run time), w8 or w4 (weight-only, group-wise scales)");
    app->add_option("--group", f->group, "w8/w4 scale group size along the input dim (32, 64, 128, ...; 0 = per row)")
        ->check(CLI::NonNegativeNumber);
    app->add_option("--method", f->method, "w8a8 input ranges: minmax, percentile (default) or mse");
    app->add_option("--percentile", f->percentile, "percentile for --method percentile (default 99.99)")
        ->check(CLI::Range(50.0, 100.0));
    app->add_option("--keep-float", f->keep_float,
                    "linear weights kept in float: names (blocks.0.attn.qkv.weight), prefixes ending in '.' "
                    "(blocks.11.) or globs (*.fc2.weight); comma-separated or repeated");
    app->add_option("--auto-float", f->auto_float, "keep the K most sensitive linear layers in float (measured)")
        ->check(CLI::NonNegativeNumber);
    app->add_flag("--quantize-head", f->quantize_head, "quantize the classifier head too (default: float)");
    app->add_option("--threads", f->threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
    app->add_option("--batch", f->batch, "calibration batch size")->check(CLI::PositiveNumber);
    app->add_option("-o,--output", f->out, "output .safetensors file")->required();
    app->final_callback([f]() {
        QuantizeOptions o;
        o.model = f->model.empty() ? default_model_path() : f->model;
        o.calib_images = calibration_list(f->calib);
        if (f->num > 0 && size_t(f->num) < o.calib_images.size()) o.calib_images.resize(size_t(f->num));
        o.scheme = parse_precision(f->scheme);
        o.group_size = f->group;
        o.method = f->method;
        o.percentile = f->percentile;
        o.keep_float = split_names(f->keep_float);
        o.quantize_head = f->quantize_head;
        o.auto_float = f->auto_float;
        o.threads = f->threads;
        o.batch = f->batch;
        const bool tty = isatty(2);
        std::string last_stage;
        int last_decile = -1;
        o.progress = [&](const std::string& stage, int64_t done, int64_t total) {
            if (tty) {
                const int width = 30, fill = total ? int(width * done / total) : width;
                std::fprintf(stderr, "\r%-12s [%s%s] %lld/%lld", stage.c_str(), std::string(size_t(fill), '#').c_str(),
                             std::string(size_t(width - fill), ' ').c_str(), (long long)done, (long long)total);
                if (done == total) std::fprintf(stderr, "\n");
            } else {
                const int decile = total ? int(10 * done / total) : 10;
                if (stage != last_stage || decile != last_decile || done == total) {
                    if (stage != last_stage || decile != last_decile)
                        std::fprintf(stderr, "%s: %lld/%lld\n", stage.c_str(), (long long)done, (long long)total);
                    last_stage = stage, last_decile = decile;
                }
            }
        };
        const auto t0 = std::chrono::steady_clock::now();
        const QuantizeReport r = quantize_model(o, f->out);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        for (const auto& e : r.failed_images) std::cerr << "warning: calibration image skipped: " << e << "\n";
        std::cout << "wrote " << f->out << ": " << r.quantized.size() << " linear layers " << f->scheme << ", "
                  << r.kept_float.size() << " kept in float";
        for (size_t i = 0; i < r.kept_float.size(); ++i) std::cout << (i ? ", " : " (") << r.kept_float[i];
        std::cout << (r.kept_float.empty() ? "" : ")") << "; " << r.images << " calibration images (list "
                  << r.calib_hash << "), " << s << " s\n";
        if (!r.sensitivity.empty()) {
            std::cout << "most sensitive layers (1 - mean logit cosine, each quantized alone):\n";
            for (size_t i = 0; i < r.sensitivity.size() && i < 10; ++i)
                std::cout << "  " << r.sensitivity[i].first << "  " << r.sensitivity[i].second << "\n";
        }
    });
}

}  // namespace vitrt::cli
