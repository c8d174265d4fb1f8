// vitrt quantize: post-training quantization of a ViT-family checkpoint into a quantized
// safetensors file that every command (classify, bench, info, forward, eval) loads directly.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli_common.hpp"
#include "ops/precision_policy.hpp"
#include "quant/quantize_model.hpp"
#include "quant/weight_quant.hpp"

namespace fs = std::filesystem;

namespace vitrt::cli {
namespace {

// --auto-dynamic's default for --scheme w8a8: the 8 layers whose static quantization alone moves
// the logits most run w8a8-dynamic. On the real ViT-Ti/16 (48 layers) that takes top-1 agreement
// with f32 from 95.7 % (1 layer) to 97.6 % on 416 held-out photos, at about 1 % of the batch-8
// throughput (docs/quantization.md).
constexpr int kDefaultAutoDynamic = 8;

// A directory (walked for images) or a CSV whose first column is an image path, relative to the
// CSV's folder or its parent (the layout of ../shared/data/images/*/labels.csv).
std::vector<std::string> calibration_list(const std::string& calib) {
    std::error_code ec;
    check(fs::exists(calib, ec), "--calib " + calib + ": no such file or directory");
    if (fs::is_directory(calib, ec)) {
        std::vector<std::string> v = list_images({calib});
        check(!v.empty(), "--calib " + calib + ": no .jpg, .jpeg or .png images in this directory");
        return v;
    }
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

// --scheme: an integer scheme token (or alias); vitrt::Error naming the flag otherwise.
Precision parse_scheme(const std::string& s) {
    const char* expected = "expected w8a8 (static), w8a8-dynamic (alias int8), w8 or w4";
    Precision p;
    try {
        p = parse_precision(s);
    } catch (const Error&) {
        throw Error("--scheme '" + s + "': unknown scheme; " + expected);
    }
    check(precision_info(p).integer, "--scheme '" + s + "' is a float precision, not a quantization scheme; " + expected);
    return p;
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
        std::string model, calib, scheme = "w8a8", method = "mse", out;
        int num = 0, group = -1, auto_float = 0, auto_dynamic = -1, sensitivity_images = 32, threads = 0, batch = 8;
        double percentile = 99.99;
        bool quantize_head = false;
        std::vector<std::string> keep_float;
    };
    auto f = std::make_shared<Flags>();
    CLI::App* app = root.add_subcommand(
        "quantize", "post-training int8/int4 quantization into a file every command loads (ViT family)");
    app->add_option("--model,-m", f->model, "float checkpoint (file or directory); default: bundled ViT-Ti/16");
    app->add_option("--calib", f->calib,
                    "calibration images: a directory, or a CSV whose first column is a path (needed by w8a8 and "
                    "--auto-float; weight-only and dynamic schemes need none)");
    app->add_option("--num", f->num, "use the first N calibration images (sorted); 0 = all")->check(CLI::NonNegativeNumber);
    app->add_option("--scheme", f->scheme,
                    "w8a8 (static: calibrated u8 inputs, s8 per-channel weights), w8a8-dynamic (per-token input "
                    "scales at run time), w8 or w4 (weight-only, group-wise scales)");
    app->add_option("--group", f->group,
                    std::string("w8/w4 scale group size along the input dim: ") + group_size_rule() +
                        "; default 128 for w8, 32 for w4");
    app->add_option("--method", f->method,
                    "w8a8 input ranges: mse (default: the clip with the least squared error), minmax, percentile, "
                    "or auto (per layer, the one of the three that moves the logits least on the sensitivity "
                    "images: 3 sensitivity probes per layer)");
    app->add_option("--percentile", f->percentile, "percentile for --method percentile (default 99.99)")
        ->check(CLI::Range(50.0, 100.0));
    app->add_option("--keep-float", f->keep_float,
                    "linear weights kept in float: names (blocks.0.attn.qkv.weight), prefixes ending in '.' "
                    "(blocks.11.) or globs (*.fc2.weight); comma-separated or repeated");
    app->add_option("--auto-float", f->auto_float, "keep the K most sensitive linear layers in float (measured)")
        ->check(CLI::NonNegativeNumber);
    app->add_option("--auto-dynamic", f->auto_dynamic,
                    "w8a8: run the next K most sensitive layers as w8a8-dynamic (per-token input scales at run "
                    "time); default 8 (ViTs have layers with massive activations that a per-tensor range "
                    "cannot hold; 8 of ViT-Ti's 48 meet the accuracy targets: docs/quantization.md), 0 turns "
                    "the sensitivity pass off")
        ->check(CLI::NonNegativeNumber);
    app->add_option("--sensitivity-images", f->sensitivity_images,
                    "images for the sensitivity pass of --auto-float, --auto-dynamic and --method auto (default 32)")
        ->check(CLI::PositiveNumber);
    app->add_flag("--quantize-head", f->quantize_head, "quantize the classifier head too (default: float)");
    app->add_option("--threads", f->threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
    app->add_option("--batch", f->batch, "calibration batch size")->check(CLI::PositiveNumber);
    app->add_option("-o,--output", f->out, "output .safetensors file")->required();
    app->final_callback([f]() {
        QuantizeOptions o;
        o.model = f->model.empty() ? default_model_path() : f->model;
        o.scheme = parse_scheme(f->scheme);
        o.group_size = f->group >= 0 ? f->group : PrecisionPolicy::default_group_size(o.scheme);
        check(valid_group_size(o.group_size),
              "--group " + std::to_string(f->group) + ": the group size must be " + group_size_rule());
        if (f->auto_dynamic < 0) f->auto_dynamic = o.scheme == Precision::w8a8 ? kDefaultAutoDynamic : 0;
        const bool needs_calib = o.scheme == Precision::w8a8 || f->auto_float > 0 || f->auto_dynamic > 0;
        check(!needs_calib || !f->calib.empty(),
              std::string(o.scheme == Precision::w8a8 ? "--scheme w8a8 (static) calibrates its input ranges"
                                                      : "--auto-float measures each layer's sensitivity") +
                  " on real images: give them with --calib DIR (or a CSV of paths), e.g. a few hundred "
                  "images like the ones the model will see");
        if (!f->calib.empty()) o.calib_images = calibration_list(f->calib);
        if (f->num > 0 && size_t(f->num) < o.calib_images.size()) o.calib_images.resize(size_t(f->num));
        o.method = f->method;
        o.percentile = f->percentile;
        o.keep_float = split_names(f->keep_float);
        o.quantize_head = f->quantize_head;
        o.auto_float = f->auto_float;
        o.auto_dynamic = f->auto_dynamic;
        o.sensitivity_images = f->sensitivity_images;
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
        auto list = [](const std::vector<std::string>& v) {
            std::string s;
            for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : " (") + v[i];
            return v.empty() ? s : s + ")";
        };
        std::cout << "wrote " << f->out << ": " << r.quantized.size() - r.dynamic.size() << " linear layers "
                  << precision_name(o.scheme);
        if (!r.dynamic.empty()) std::cout << ", " << r.dynamic.size() << " w8a8-dynamic" << list(r.dynamic);
        std::cout << ", " << r.kept_float.size() << " kept in float" << list(r.kept_float);
        if (r.images) std::cout << "; " << r.images << " calibration images (list " << r.calib_hash << ")";
        std::cout << "; " << s << " s\n";
        if (!r.methods.empty()) {
            std::map<std::string, int> count;
            for (const auto& [layer, m] : r.methods) ++count[m];
            std::cout << "range method per layer (--method auto):";
            for (const auto& [m, c] : count) std::cout << " " << m << " x " << c;
            std::cout << "\n";
        }
        if (!r.sensitivity.empty()) {
            std::cout << "most sensitive layers (1 - mean logit cosine, each quantized alone):\n";
            for (size_t i = 0; i < r.sensitivity.size() && i < 10; ++i)
                std::cout << "  " << r.sensitivity[i].first << "  " << r.sensitivity[i].second << "\n";
        }
    });
}

}  // namespace vitrt::cli
