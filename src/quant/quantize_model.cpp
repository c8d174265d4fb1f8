#include "quant/quantize_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/backend_factory.hpp"
#include "engine/model_runner.hpp"
#include "image/image.hpp"
#include "io/checkpoint.hpp"
#include "io/model_source.hpp"
#include "io/names/vit_names.hpp"
#include "load/load.hpp"
#include "ops/forwarding_ops.hpp"
#include "quant/observer.hpp"
#include "quant/weight_quant.hpp"

namespace vitrt {
namespace {

// Records which checkpoint name each prepared linear weight has, and (while `observe` is on)
// the range of every linear layer's input, by that name.
class CalibratingOps final : public ForwardingOps {
public:
    CalibratingOps(Ops& inner, CalibMethod method, double percentile)
        : ForwardingOps(inner), method_(method), percentile_(percentile) {}

    Tensor prepare_weight(const HostTensor& w, const WeightSpec& s) override {
        Tensor t = in_.prepare_weight(w, s);
        if (s.role == WeightRole::linear) {
            names_[t.prepared.get()] = s.name;
            order_.push_back(s.name);
        }
        return t;
    }
    void linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) override {
        if (observe) {
            auto it = names_.find(w.prepared.get());
            if (it != names_.end() && watched.count(it->second)) {
                auto obs = observers_.find(it->second);
                if (obs == observers_.end())
                    obs = observers_.emplace(it->second, RangeObserver(method_, percentile_)).first;
                obs->second.observe(x.f32(), x.numel());
            }
        }
        in_.linear(x, w, y, o);
    }

    bool observe = false;
    std::set<std::string> watched;
    const std::vector<std::string>& linear_names() const { return order_; }
    const std::map<std::string, RangeObserver>& observers() const { return observers_; }

private:
    CalibMethod method_;
    double percentile_;
    std::map<const PreparedWeight*, std::string> names_;
    std::vector<std::string> order_;
    std::map<std::string, RangeObserver> observers_;
};

// Calibration images, preprocessed once (unreadable ones are reported and skipped).
struct Batches {
    std::vector<std::vector<float>> images;
    std::vector<std::string> failed;
};

Batches preprocess_all(const std::vector<std::string>& paths, const image::PreprocessConfig& cfg, size_t per_image,
                       const QuantizeOptions& o) {
    Batches b;
    std::vector<std::vector<float>> out(paths.size());
    std::vector<std::string> err(paths.size());
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < int64_t(paths.size()); ++i) {
        try {
            std::vector<float> x(per_image);
            image::preprocess(image::decode_file(paths[size_t(i)]), cfg, x.data());
            out[size_t(i)] = std::move(x);
        } catch (const std::exception& e) {
            err[size_t(i)] = e.what();
        }
    }
    for (size_t i = 0; i < paths.size(); ++i) {
        if (!err[i].empty()) b.failed.push_back(paths[i] + ": " + err[i]);
        else b.images.push_back(std::move(out[i]));
    }
    if (o.progress) o.progress("preprocess", int64_t(paths.size()), int64_t(paths.size()));
    return b;
}

// Runs images [0, n) in batches; logits appended to *out when given.
void run_images(ModelRunner& r, const Batches& b, size_t n, int batch, size_t per_image, int classes,
                std::vector<float>* out, const QuantizeOptions& o, const char* stage) {
    std::vector<float> in, logits;
    for (size_t i = 0; i < n; i += size_t(batch)) {
        const int bs = int(std::min(n - i, size_t(batch)));
        in.resize(size_t(bs) * per_image);
        for (int k = 0; k < bs; ++k) std::copy(b.images[i + size_t(k)].begin(), b.images[i + size_t(k)].end(),
                                               in.begin() + int64_t(size_t(k) * per_image));
        logits.resize(size_t(bs) * size_t(classes));
        r.run(in.data(), bs, logits.data());
        if (out) out->insert(out->end(), logits.begin(), logits.end());
        if (o.progress && stage) o.progress(stage, int64_t(i) + bs, int64_t(n));
    }
}

double mean_cosine_gap(const std::vector<float>& a, const std::vector<float>& b, int classes) {
    const size_t n = a.size() / size_t(classes);
    double gap = 0;
    for (size_t i = 0; i < n; ++i) {
        double ab = 0, aa = 0, bb = 0;
        for (int k = 0; k < classes; ++k) {
            const double x = a[i * size_t(classes) + size_t(k)], y = b[i * size_t(classes) + size_t(k)];
            ab += x * y, aa += x * x, bb += y * y;
        }
        gap += 1.0 - ab / std::sqrt(std::max(aa * bb, 1e-300));
    }
    return n ? gap / double(n) : 0.0;
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& name) {
    for (const auto& p : patterns)
        if (name_matches(p, name)) return true;
    return false;
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
    check(precision_info(o.scheme).integer, std::string("quantize: scheme ") + precision_name(o.scheme) +
                                                " is not an integer scheme (w8a8, w8a8-dynamic, w8, w4)");
    check(o.scheme != Precision::w4 || o.group_size == 0 || o.group_size % 2 == 0,
          "quantize: the w4 group size must be even");
    check(o.group_size >= 0, "quantize: group size must be >= 0");
    check(o.auto_float >= 0, "quantize: --auto-float must be >= 0");
    check(!o.calib_images.empty(), "quantize: no calibration images");
    const bool is_static = o.scheme == Precision::w8a8;
    const CalibMethod method = parse_calib_method(o.method);

    // 1. The float model, observed.
    BackendOptions bo;
    bo.threads = o.threads;
    auto cpu = make_backend("cpu", bo);
    CalibratingOps calib(*cpu, method, o.percentile);
    LoadOptions lo;
    LoadedModel model = load_model(o.model, calib, lo);
    const ModelDescription& desc = model.model->description();
    check(desc.family == "vit", o.model + ": quantized files are written for ViT-family models; a " + desc.family +
                                    " is quantized at load instead (--precision w8a8-dynamic, w8 or w4)");
    std::vector<std::string> keep = o.keep_float;
    for (const auto& k : PrecisionPolicy::kDefaultKeepFloat)
        if (!(o.quantize_head && (k == "head.*" || k == "head_dist.*"))) keep.push_back(k);
    std::vector<std::string> candidates, kept;
    for (const auto& n : calib.linear_names()) (matches_any(keep, n) ? kept : candidates).push_back(n);
    check(!candidates.empty(), "quantize: every linear layer is kept in float (check --keep-float)");
    for (const auto& k : o.keep_float) {
        bool any = false;
        for (const auto& n : calib.linear_names()) any = any || name_matches(k, n);
        check(any, "quantize: --keep-float '" + k + "' matches no linear layer (names look like " +
                       calib.linear_names().front() + ")");
    }

    const int H = model.model->input_height(), W = model.model->input_width(), classes = model.model->num_classes();
    const size_t per_image = size_t(3) * size_t(H) * size_t(W);
    const Batches imgs = preprocess_all(o.calib_images, model.preprocess, per_image, o);
    check(!imgs.images.empty(), "quantize: none of the " + std::to_string(o.calib_images.size()) +
                                    " calibration images could be read (first: " +
                                    (imgs.failed.empty() ? std::string() : imgs.failed.front()) + ")");

    // 2. Calibration pass (and the float reference for the sensitivity pass).
    ModelRunner runner(calib, *model.model);
    calib.observe = is_static;
    calib.watched = std::set<std::string>(candidates.begin(), candidates.end());
    const size_t n_sens = std::min(imgs.images.size(), size_t(std::max(1, o.sensitivity_images)));
    std::vector<float> ref_logits;
    run_images(runner, imgs, imgs.images.size(), o.batch, per_image, classes, nullptr, o, "calibrate");
    calib.observe = false;
    if (o.auto_float > 0) run_images(runner, imgs, n_sens, o.batch, per_image, classes, &ref_logits, o, nullptr);

    PrecisionPolicy policy;
    policy.group_size = (o.scheme == Precision::w8 || o.scheme == Precision::w4) ? o.group_size : 0;
    if (is_static)
        for (const auto& n : candidates) {
            auto it = calib.observers().find(n);
            check(it != calib.observers().end() && it->second.count() > 0,
                  "quantize: layer '" + n + "' saw no input during calibration");
            const ActQuant a = it->second.result();
            policy.calibrated[n] = {a.scale, a.zero_point};
        }

    // 3. Sensitivity: each candidate quantized alone, logits compared with the float model's.
    QuantizeReport rep;
    if (o.auto_float > 0) {
        for (size_t i = 0; i < candidates.size(); ++i) {
            PrecisionPolicy one = policy;
            one.per_weight[candidates[i]] = o.scheme;
            LoadOptions l1;
            l1.policy = one;
            LoadedModel m1 = load_model(o.model, *cpu, l1);
            ModelRunner r1(*cpu, *m1.model);
            std::vector<float> logits;
            run_images(r1, imgs, n_sens, o.batch, per_image, classes, &logits, o, nullptr);
            rep.sensitivity.emplace_back(candidates[i], mean_cosine_gap(ref_logits, logits, classes));
            if (o.progress) o.progress("sensitivity", int64_t(i) + 1, int64_t(candidates.size()));
        }
        std::stable_sort(rep.sensitivity.begin(), rep.sensitivity.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        std::set<std::string> worst;
        for (int k = 0; k < o.auto_float && size_t(k) < rep.sensitivity.size(); ++k) worst.insert(rep.sensitivity[size_t(k)].first);
        std::vector<std::string> still;
        for (const auto& n : candidates) (worst.count(n) ? kept : still).push_back(n);
        candidates = still;
        check(!candidates.empty(), "quantize: --auto-float keeps every linear layer in float");
    }

    // 4. The file: the source's tensors under timm names, the chosen linear weights quantized.
    ModelSource src = open_model_source(o.model);
    const auto tensors = vit_tensors_as_timm(src.checkpoint, detect_vit_naming(src.checkpoint));
    std::map<std::string, HostTensor> out;
    nlohmann::json qmeta = nlohmann::json::object();
    const std::set<std::string> quantize(candidates.begin(), candidates.end());
    for (const auto& [name, t] : tensors) {
        if (!quantize.count(name)) {
            out[name] = t;
            continue;
        }
        QuantizedWeight q = quantize_weight(t, o.scheme, policy.group_size);
        const std::string base = name.substr(0, name.rfind('.'));
        out[name] = q.q;
        out[name + "_scale"] = q.scales;
        if (is_static) {
            const auto& a = policy.calibrated.at(name);
            HostTensor s = HostTensor::zeros_f32({1});
            s.mutable_f32()[0] = a.scale;
            auto zp = std::make_shared<int32_t>(a.zero_point);
            HostTensor z;
            z.view.data = zp.get();
            z.view.dtype = DType::i32;
            z.view.shape = {1};
            z.owner = zp;
            out[base + ".input_scale"] = s;
            out[base + ".input_zero_point"] = z;
        }
        qmeta[name] = {{"precision", precision_name(o.scheme)}, {"group_size", q.group_size}, {"in_features", q.K}};
    }
    check(qmeta.size() == quantize.size(), "quantize: some linear weights were not found under their timm names");

    nlohmann::json cfg = {{"architecture", desc.architecture}, {"num_classes", classes}};
    cfg["model_args"] = nlohmann::json::parse(desc.timm_model_args);
    const image::PreprocessConfig& p = model.preprocess;
    cfg["pretrained_cfg"] = {{"input_size", {3, p.input_height, p.input_width}},
                             {"interpolation", image::interp_name(p.interp)},
                             {"mean", {p.mean[0], p.mean[1], p.mean[2]}},
                             {"std", {p.std[0], p.std[1], p.std[2]}},
                             {"crop_pct", p.crop_pct},
                             {"crop_mode", image::crop_mode_name(p.crop_mode)}};
    if (!model.labels.empty()) cfg["label_names"] = model.labels;

    rep.images = int(imgs.images.size());
    std::vector<std::string> used;
    for (const auto& path : o.calib_images) used.push_back(path.substr(path.rfind('/') + 1));
    rep.calib_hash = image_list_hash(used);
    rep.quantized = candidates;
    rep.kept_float = kept;
    rep.failed_images = imgs.failed;
    std::map<std::string, std::string> meta = {
        {"format", "pt"},
        {"model", desc.architecture},
        {"vitrt.format", "quantized-v1"},
        {"vitrt.scheme", precision_name(o.scheme)},
        {"vitrt.group_size", std::to_string(policy.group_size)},
        {"vitrt.calibration_method", is_static ? calib_method_name(method) : std::string("none (weights only)")},
        {"vitrt.calibration_images", std::to_string(rep.images)},
        {"vitrt.calibration_list_fnv1a64", rep.calib_hash},
        {"vitrt.source", o.model.substr(o.model.find_last_of('/') == std::string::npos ? 0 : o.model.find_last_of('/') + 1)},
        {"vitrt.kept_float", nlohmann::json(kept).dump()},
        {"vitrt.quantized", qmeta.dump()},
        {"vitrt.config", cfg.dump()},
    };
    if (o.progress) o.progress("write", 0, 1);
    save_safetensors(out_path, out, meta);
    if (o.progress) o.progress("write", 1, 1);
    return rep;
}

}  // namespace vitrt
