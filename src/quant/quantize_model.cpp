#include "quant/quantize_model.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "engine/backend_factory.hpp"
#include "load/load.hpp"
#include "quant/calibrating_ops.hpp"
#include "quant/quantized_writer.hpp"
#include "quant/sensitivity.hpp"
#include "quant/weight_quant.hpp"

namespace vitrt {
namespace {

bool matches_any(const std::vector<std::string>& patterns, const std::string& name) {
    for (const auto& p : patterns)
        if (name_matches(p, name)) return true;
    return false;
}

bool matches_any(const std::vector<std::string>& patterns, const std::vector<std::string>& names) {
    for (const auto& n : names)
        if (matches_any(patterns, n)) return true;
    return false;
}

void check_options(const QuantizeOptions& o) {
    check(precision_info(o.scheme).integer, std::string("quantize: scheme ") + precision_name(o.scheme) +
                                                " is not an integer scheme (w8a8, w8a8-dynamic, w8, w4)");
    const bool is_static = o.scheme == Precision::w8a8;
    const bool grouped = o.scheme == Precision::w8 || o.scheme == Precision::w4;
    check(!grouped || valid_group_size(o.group_size),
          "quantize: group size " + std::to_string(o.group_size) + " (must be " + group_size_rule() + ")");
    check(o.auto_float >= 0 && o.auto_dynamic >= 0, "quantize: --auto-float and --auto-dynamic must be >= 0");
    check(o.auto_dynamic == 0 || is_static,
          "quantize: --auto-dynamic moves sensitive static w8a8 layers to w8a8-dynamic; it needs --scheme w8a8");
    if (o.method != "auto") {
        try {
            parse_calib_method(o.method);
        } catch (const Error&) {
            throw Error("quantize: --method '" + o.method + "': expected minmax, percentile, mse or auto");
        }
    }
    const bool needs_images = is_static || o.auto_float > 0 || o.auto_dynamic > 0;
    check(!o.calib_images.empty() || !needs_images,
          std::string("quantize: ") + (is_static ? "static w8a8" : "--auto-float") + " needs calibration images");
}

// The (percentile, mse and auto) methods' names as the file records them.
std::string method_label(CalibMethod m, double percentile) {
    if (m != CalibMethod::percentile) return calib_method_name(m);
    char buf[48];
    std::snprintf(buf, sizeof buf, "percentile %g", percentile);
    return buf;
}

}  // namespace

std::string image_list_hash(const std::vector<std::string>& images) {
    uint64_t h = 1469598103934665603ull;
    for (const auto& s : images) {
        for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
        h = (h ^ '\n') * 1099511628211ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

QuantizeReport quantize_model(const QuantizeOptions& o, const std::string& out_path) {
    check_options(o);
    const bool is_static = o.scheme == Precision::w8a8;
    const bool auto_method = is_static && o.method == "auto";
    // An mse observer keeps the histogram, from which every method's range can be read.
    const CalibMethod method = auto_method ? CalibMethod::mse : parse_calib_method(o.method);
    const bool grouped = o.scheme == Precision::w8 || o.scheme == Precision::w4;
    const int group = grouped ? o.group_size : 0;

    // 1. The float model, through ops that name its linear layers (and observe them below).
    BackendOptions bo;
    bo.threads = o.threads;
    auto cpu = make_backend("cpu", bo);
    CalibratingOps calib(*cpu, method, o.percentile);
    LoadedModel model = load_model(o.model, calib, LoadOptions());
    const ModelDescription& desc = model.model->description();
    check(desc.family == "vit", o.model + ": `vitrt quantize` writes files for ViT-family models only; a " +
                                    desc.family + " is quantized at load instead (--precision w8a8-dynamic, w8 or w4), "
                                    "since its folded weights are not the checkpoint's");
    std::vector<std::string> keep = o.keep_float;
    for (const auto& k : PrecisionPolicy::kDefaultKeepFloat)
        if (!(o.quantize_head && (k == "head.*" || k == "head_dist.*"))) keep.push_back(k);
    std::vector<std::string> candidates, kept;
    for (const auto& n : calib.linear_names()) (matches_any(keep, n) ? kept : candidates).push_back(n);
    for (const auto& k : o.keep_float)
        check(matches_any({k}, calib.linear_names()), "quantize: --keep-float '" + k +
                                                          "' matches no linear layer (names look like " +
                                                          calib.linear_names().front() + ")");
    check(!candidates.empty(), "quantize: every linear layer is kept in float (check --keep-float)");

    // 2. Calibration images (static w8a8 and the sensitivity pass).
    const int H = model.model->input_height(), W = model.model->input_width(), classes = model.model->num_classes();
    QuantizeReport rep;
    CalibrationSet imgs;
    const bool ranked = o.auto_float > 0 || o.auto_dynamic > 0;
    if (is_static || ranked) {
        imgs = CalibrationSet::load(o.calib_images, model.preprocess, size_t(3) * size_t(H) * size_t(W), o.progress);
        check(!imgs.images.empty(), "quantize: none of the " + std::to_string(o.calib_images.size()) +
                                        " calibration images could be read (first: " +
                                        (imgs.failed.empty() ? std::string() : imgs.failed.front()) + ")");
        rep.images = int(imgs.images.size());
        rep.failed_images = imgs.failed;
        std::vector<std::string> used;
        for (const auto& path : o.calib_images) used.push_back(path.substr(path.rfind('/') + 1));
        rep.calib_hash = image_list_hash(used);
    }
    ModelRunner runner(calib, *model.model);
    if (is_static) {
        calib.observe = true;
        calib.watched = std::set<std::string>(candidates.begin(), candidates.end());
        imgs.run(runner, imgs.images.size(), o.batch, classes, nullptr, o.progress, "calibrate");
        calib.observe = false;
    }

    // 3. Each layer's input range; with --method auto, the method that moves the logits least.
    std::map<std::string, LayerPlan> plan;
    for (const auto& n : candidates) {
        LayerPlan& p = plan[n];
        p.precision = o.scheme;
        p.group_size = group;
    }
    const size_t n_sens = std::min(imgs.images.size(), size_t(std::max(1, o.sensitivity_images)));
    std::vector<float> ref;
    if (auto_method || ranked) imgs.run(runner, n_sens, o.batch, classes, &ref);
    PrecisionPolicy base;
    base.group_size = group;
    const SensitivityProbe probe(o.model, *cpu, imgs, n_sens, o.batch, classes, base, ref);
    const int64_t probes = int64_t(candidates.size()) * (auto_method ? 3 : ranked ? 1 : 0);
    int64_t done = 0;
    std::map<std::string, double> gap;
    for (const auto& n : candidates) {
        LayerPlan& p = plan[n];
        if (is_static) {
            auto it = calib.observers().find(n);
            check(it != calib.observers().end() && it->second.count() > 0,
                  "quantize: layer '" + n + "' saw no input during calibration");
            const RangeObserver& obs = it->second;
            CalibMethod chosen = method;
            if (auto_method) {
                double best = 0;
                for (CalibMethod m : kCalibMethods) {  // ties keep the earlier (simpler) method
                    const ActQuant a = obs.result(m);
                    const double g = probe.gap(n, Precision::w8a8, {a.scale, a.zero_point});
                    if (m == kCalibMethods[0] || g < best) best = g, chosen = m;
                    if (o.progress) o.progress("sensitivity", ++done, probes);
                }
                gap[n] = best;
                rep.methods.emplace_back(n, method_label(chosen, o.percentile));
            }
            const ActQuant a = obs.result(chosen);
            p.act = {a.scale, a.zero_point};
            p.calibration = method_label(chosen, o.percentile);
        }
        if (ranked && !gap.count(n)) {
            gap[n] = probe.gap(n, o.scheme, p.act);
            if (o.progress) o.progress("sensitivity", ++done, probes);
        }
    }

    // 4. The most sensitive layers: float, then (static) dynamic.
    if (!gap.empty()) {
        for (const auto& n : candidates) rep.sensitivity.emplace_back(n, gap[n]);
        std::stable_sort(rep.sensitivity.begin(), rep.sensitivity.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
    }
    if (ranked) {
        const size_t nf = std::min(size_t(o.auto_float), rep.sensitivity.size());
        const size_t nd = std::min(size_t(o.auto_dynamic), rep.sensitivity.size() - nf);
        for (size_t i = 0; i < nf + nd; ++i) {
            const std::string& n = rep.sensitivity[i].first;
            if (i < nf) {
                plan.erase(n);
                kept.push_back(n);
            } else {
                plan[n] = LayerPlan{Precision::w8a8_dynamic, 0, {}, ""};
                rep.dynamic.push_back(n);
            }
        }
        check(!plan.empty(), "quantize: --auto-float keeps every linear layer in float");
    }
    for (const auto& n : candidates)
        if (plan.count(n)) rep.quantized.push_back(n);
    rep.kept_float = kept;

    // 5. The file.
    QuantizedFileInfo info;
    info.source = o.model;
    info.architecture = desc.architecture;
    info.scheme = o.scheme;
    info.group_size = group;
    info.calibration_method = !is_static ? std::string("none (weights only)")
                              : auto_method ? "auto (per layer: minmax, " + method_label(CalibMethod::percentile, o.percentile) + " or mse)"
                                            : method_label(method, o.percentile);
    info.calibration_images = rep.images;
    info.calibration_list_hash = rep.calib_hash;
    info.kept_float = kept;
    info.config = {{"architecture", desc.architecture}, {"num_classes", classes}};
    info.config["model_args"] = nlohmann::json::parse(desc.timm_model_args);
    const image::PreprocessConfig& pc = model.preprocess;
    info.config["pretrained_cfg"] = {{"input_size", {3, pc.input_height, pc.input_width}},
                                     {"interpolation", image::interp_name(pc.interp)},
                                     {"mean", {pc.mean[0], pc.mean[1], pc.mean[2]}},
                                     {"std", {pc.std[0], pc.std[1], pc.std[2]}},
                                     {"crop_pct", pc.crop_pct},
                                     {"crop_mode", image::crop_mode_name(pc.crop_mode)}};
    if (!model.labels.empty()) info.config["label_names"] = model.labels;
    if (o.progress) o.progress("write", 0, 1);
    write_quantized_file(out_path, plan, info);
    if (o.progress) o.progress("write", 1, 1);
    return rep;
}

}  // namespace vitrt
