#include "vitrt/vitrt.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>

#include "core/arena.hpp"
#include "engine/backend_factory.hpp"
#include "engine/labels.hpp"
#include "engine/model_runner.hpp"
#include "engine/profiling_ops.hpp"
#include "image/image.hpp"
#include "load/load.hpp"
#include "quant/weight_quant.hpp"

namespace fs = std::filesystem;

namespace vitrt {

struct Engine::Impl {
    std::unique_ptr<Ops> ops;
    LoadedModel loaded;
    ModelInfo info;
    std::vector<std::string> labels;
    std::unique_ptr<ModelRunner> runner;
    DataConfig data;
    std::mutex mutex;
    OpProfile profile;
    std::unique_ptr<Ops> profiling_ops;  // wraps ops while profiling is on
    std::unique_ptr<image::DecodeMemoryBudget> decode_budget;  // shared by every preprocess_* call
    image::DecodeLimits decode_limits;                         // points at decode_budget
    int threads = 0;                                           // EngineOptions::threads
};

namespace {

// EngineOptions::threads holds in whichever thread calls the engine: OpenMP's thread count is a
// per-thread setting, so a server's batcher thread or a Python / Dask worker thread would
// otherwise run on all cores whatever was asked (oversubscribing a machine shared by workers).
// The caller's own setting is restored afterwards.
class ScopedOmpThreads {
public:
    explicit ScopedOmpThreads(int n) : prev_(n > 0 ? omp_get_max_threads() : 0) {
        if (n > 0) omp_set_num_threads(n);
    }
    ~ScopedOmpThreads() {
        if (prev_ > 0) omp_set_num_threads(prev_);
    }
    ScopedOmpThreads(const ScopedOmpThreads&) = delete;
    ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

private:
    int prev_;
};

// Decoding never uses more threads than the caller allows either: a server that decodes many
// requests at once keeps each HTTP thread serial (one OpenMP team per HTTP thread would compete
// with the engine's team for the cores).
int preprocess_threads(int engine_threads) {
    return engine_threads > 0 ? std::min(engine_threads, omp_get_max_threads()) : 0;
}

}  // namespace

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::load(const std::string& model_path, const EngineOptions& options) {
    check(options.threads >= 0 && options.threads <= max_threads, "threads must be 0 (all cores) to " + std::to_string(max_threads));
    check(options.image_size >= 0 && options.image_size <= max_image_size,
          "image size " + std::to_string(options.image_size) + " is out of range: 0 (the checkpoint's) to " +
              std::to_string(max_image_size));
    check(options.max_image_pixels >= 0 && options.max_image_pixels <= image::max_image_pixels,
          "max image pixels must be 0 (default) to " + std::to_string(image::max_image_pixels));
    auto impl = std::make_unique<Impl>();
    impl->threads = options.threads;
    impl->decode_budget = std::make_unique<image::DecodeMemoryBudget>(
        options.decode_memory_bytes ? options.decode_memory_bytes : image::default_decode_memory_bytes);
    impl->decode_limits.max_pixels =
        options.max_image_pixels > 0 ? int64_t(options.max_image_pixels) : image::default_max_image_pixels;
    impl->decode_limits.budget = impl->decode_budget.get();
    LoadOptions lo;
    lo.image_size = options.image_size;
    lo.arch = options.arch;
    lo.policy = PrecisionPolicy::from_token(options.precision);
    check(valid_group_size(options.group_size), "group size " + std::to_string(options.group_size) +
                                                    ": must be 0 (the scheme's default) or a power of two from 16 to 1024");
    if (options.group_size > 0) lo.policy.group_size = options.group_size;
    BackendOptions bo;
    bo.threads = options.threads;
    bo.activations = lo.policy.activations;
    impl->ops = make_backend(options.device, bo);
    if (!impl->ops->supports(lo.policy.linear, WeightRole::linear))
        throw Error(std::string("precision ") + precision_name(lo.policy.linear) + " is not available on the " +
                    impl->ops->name() + " backend");
    impl->loaded = load_model(model_path, *impl->ops, lo);

    const Model& m = *impl->loaded.model;
    const ModelDescription& d = m.description();
    ModelInfo& info = impl->info;
    info.family = d.family;
    info.architecture = d.architecture;
    info.source_format = d.source_format;
    info.storage_dtype = d.storage_dtype;
    info.parameters = d.parameters;
    info.flops = d.flops;
    info.fields = d.fields;
    info.notes = d.notes;
    info.precision = d.precision;
    info.backend = impl->ops->details();
    const image::PreprocessConfig& p = impl->loaded.preprocess;
    auto f3 = [](const float v[3]) {
        std::ostringstream s;
        s << "(" << v[0] << ", " << v[1] << ", " << v[2] << ")";
        return s.str();
    };
    std::ostringstream crop;
    crop << p.crop_pct;
    info.preprocess = {
        {"input_size", std::to_string(p.input_height) + "x" + std::to_string(p.input_width)},
        {"resize", std::string(image::interp_name(p.interp)) + " (PIL), crop_pct " + crop.str() + ", crop_mode " + image::crop_mode_name(p.crop_mode)},
        {"mean", f3(p.mean)},
        {"std", f3(p.std)},
    };

    impl->runner = std::make_unique<ModelRunner>(*impl->ops, *impl->loaded.model);
    impl->labels = impl->loaded.labels;
    DataConfig& dc = impl->data;
    dc.input_size[1] = p.input_height, dc.input_size[2] = p.input_width;
    dc.interpolation = image::interp_name(p.interp);
    for (int c = 0; c < 3; ++c) dc.mean[c] = p.mean[c], dc.std[c] = p.std[c];
    dc.crop_pct = p.crop_pct;
    dc.crop_mode = image::crop_mode_name(p.crop_mode);
    if (impl->labels.empty()) impl->labels = default_labels(m.num_classes());
    return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

const ModelInfo& Engine::info() const { return impl_->info; }
int Engine::input_height() const { return impl_->loaded.model->input_height(); }
int Engine::input_width() const { return impl_->loaded.model->input_width(); }
size_t Engine::input_size() const { return size_t(3) * size_t(input_height()) * size_t(input_width()); }
int Engine::num_classes() const { return impl_->loaded.model->num_classes(); }
const std::vector<std::string>& Engine::labels() const { return impl_->labels; }

void Engine::preprocess_file(const std::string& path, float* out) const {
    ScopedOmpThreads threads(preprocess_threads(impl_->threads));  // large images resize in parallel
    image::preprocess(image::decode_file(path, impl_->decode_limits), impl_->loaded.preprocess, out);
}

void Engine::preprocess_encoded(const unsigned char* data, size_t size, const std::string& name, float* out) const {
    ScopedOmpThreads threads(preprocess_threads(impl_->threads));
    image::preprocess(image::decode_memory(data, size, name, impl_->decode_limits), impl_->loaded.preprocess, out);
}

namespace {
ModelOutput model_output(Output o) {
    switch (o) {
        case Output::logits: return ModelOutput::logits;
        case Output::embedding: return ModelOutput::embedding;
        case Output::tokens: return ModelOutput::tokens;
    }
    throw Error("unknown output kind");
}
}  // namespace

const DataConfig& Engine::data_config() const { return impl_->data; }

std::vector<long long> Engine::output_shape(Output what) const {
    const Shape s = impl_->loaded.model->output_shape(model_output(what));
    return std::vector<long long>(s.begin(), s.end());
}

size_t Engine::output_size(Output what) const { return size_t(numel(impl_->loaded.model->output_shape(model_output(what)))); }

void Engine::run(const float* input, int batch, float* out, Output what) {
    check(batch > 0, "batch must be positive");
    std::lock_guard<std::mutex> lock(impl_->mutex);
    ScopedOmpThreads threads(impl_->threads);
    impl_->runner->set_ops(impl_->profiling_ops ? *impl_->profiling_ops : *impl_->ops);
    impl_->runner->run(input, batch, out, model_output(what));
}

std::vector<float> Engine::run(const float* input, int batch, Output what) {
    check(batch > 0, "batch must be positive");
    std::vector<float> out(size_t(batch) * output_size(what));
    run(input, batch, out.data(), what);
    return out;
}

void Engine::enable_profiling(bool on) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->profile = OpProfile();
    impl_->profiling_ops = on ? make_profiling_ops(*impl_->ops, impl_->profile) : nullptr;
}

std::vector<std::pair<std::string, double>> Engine::profile_seconds() const {
    std::vector<std::pair<std::string, double>> r(impl_->profile.seconds.begin(), impl_->profile.seconds.end());
    return r;
}

std::vector<Prediction> Engine::top_k(const float* logits, int k) const {
    const int n = num_classes();
    k = std::clamp(k, 0, n);
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < n; ++i) mx = std::max(mx, double(logits[i]));
    for (int i = 0; i < n; ++i) sum += std::exp(double(logits[i]) - mx);
    std::vector<int> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    std::vector<Prediction> r;
    for (int i = 0; i < k; ++i) {
        Prediction p;
        p.index = idx[size_t(i)];
        p.label = size_t(p.index) < impl_->labels.size() ? impl_->labels[size_t(p.index)] : std::to_string(p.index);
        p.prob = float(std::exp(double(logits[p.index]) - mx) / sum);
        r.push_back(p);
    }
    return r;
}

std::string default_model_path() {
    if (const char* env = std::getenv("VITRT_MODEL"); env && *env) return env;
    const char* rel = "models/vit_tiny_patch16_224";
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        for (const fs::path& cand : {exe.parent_path().parent_path() / "share/vitrt" / rel})
            if (fs::exists(cand)) return cand.string();
    }
    return (fs::path(VITRT_SOURCE_DIR) / rel).string();
}

}  // namespace vitrt
