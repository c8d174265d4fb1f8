// vitrt eval: top-1 / top-5 accuracy, cross-entropy loss and images/s on a labelled image set,
// reported as timm's validate.py does (same key names in --results-file); with --reference-model,
// also how far this model's logits are from a reference model's on the same images (top-1
// agreement, logit cosine): the number that says what a lower precision costs.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "eval_data.hpp"

namespace vitrt::cli {
namespace {

using clock_type = std::chrono::steady_clock;

struct EvalArgs {
    EngineFlags engine;
    std::vector<std::string> data;
    std::string labels_csv;
    std::string reference_model;
    std::string reference_precision = "f32";
    std::string results_file;
    int batch = 16;
    int num = 0;
    bool json = false;
    bool no_progress = false;
};

// Running sums for one model's logits against the labels.
struct Scores {
    long long n = 0, top1 = 0, top5 = 0;
    double loss = 0;

    // Returns the arg-max.
    int add(const float* l, int classes, int label) {
        int best = 0;
        float mx = l[0];
        for (int j = 1; j < classes; ++j)
            if (l[j] > mx) mx = l[j], best = j;
        double s = 0;
        for (int j = 0; j < classes; ++j) s += std::exp(double(l[j]) - mx);
        loss += std::log(s) + mx - l[label];  // cross-entropy = logsumexp - logit of the label
        int above = 0;  // classes ranked before the label (ties go to the lower index, as torch.topk)
        for (int j = 0; j < classes; ++j) above += l[j] > l[label] || (l[j] == l[label] && j < label);
        top1 += above == 0;
        top5 += above < 5;
        ++n;
        return best;
    }
    double top1_pct() const { return n ? 100.0 * double(top1) / double(n) : 0; }
    double top5_pct() const { return n ? 100.0 * double(top5) / double(n) : 0; }
    double mean_loss() const { return n ? loss / double(n) : 0; }
};

double cosine(const float* a, const float* b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
    if (aa == 0 || bb == 0) return aa == bb ? 1.0 : 0.0;
    return ab / std::sqrt(aa * bb);
}

// "bicubic (PIL), crop_pct 0.9, crop_mode center" -> interpolation, crop_pct, as timm reports them.
void resize_fields(const ModelInfo& info, std::string* interp, double* crop_pct) {
    for (const auto& [k, v] : info.preprocess) {
        if (k != "resize") continue;
        *interp = v.substr(0, v.find(' '));
        const auto at = v.find("crop_pct ");
        if (at != std::string::npos) *crop_pct = std::atof(v.c_str() + at + 9);
    }
}

// Every string in j made valid UTF-8 (file names and messages may hold any bytes; nlohmann's
// dump() throws on invalid UTF-8, which lost the results of a whole run).
void make_utf8(nlohmann::ordered_json& j) {
    if (j.is_string()) j = utf8_escaped(j.get<std::string>());
    else if (j.is_structured())
        for (auto& v : j) make_utf8(v);
}

double round_to(double v, int digits) {
    const double s = std::pow(10.0, digits);
    return std::round(v * s) / s;
}

// A bar redrawn in place on a terminal; plain lines (about every 10 %) when stderr is a file or pipe.
class Progress {
public:
    Progress(size_t total, bool enabled) : total_(total), enabled_(enabled), tty_(isatty(fileno(stderr))) {}
    void update(size_t done, double seconds, const Scores& s) {
        if (!enabled_) return;
        const double rate = seconds > 0 ? double(done) / seconds : 0;
        char stats[160];
        std::snprintf(stats, sizeof stats, "%zu/%zu  %.1f img/s  top1 %.2f %%  top5 %.2f %%  loss %.4f", done, total_,
                      rate, s.top1_pct(), s.top5_pct(), s.mean_loss());
        if (tty_) {
            const int width = 30, filled = int(double(width) * double(done) / double(std::max<size_t>(total_, 1)));
            const double eta = rate > 0 ? double(total_ - done) / rate : 0;
            std::fprintf(stderr, "\r[%s%s] %s  eta %.0fs\x1b[K", std::string(size_t(filled), '#').c_str(),
                         std::string(size_t(width - filled), '.').c_str(), stats, eta);
            drawn_ = true;
        } else if (done == total_ || done * 10 / total_ > last_decile_) {
            last_decile_ = done * 10 / total_;
            std::fprintf(stderr, "eval: %s\n", stats);
        }
        std::fflush(stderr);
    }
    // Prints a message on its own line (clearing the bar first).
    void message(const std::string& m) {
        if (tty_ && drawn_) std::fprintf(stderr, "\r\x1b[K");
        std::fprintf(stderr, "%s\n", m.c_str());
    }
    void finish() {
        if (tty_ && drawn_) std::fprintf(stderr, "\n");
        drawn_ = false;
    }

private:
    size_t total_;
    bool enabled_, tty_;
    bool drawn_ = false;
    size_t last_decile_ = 0;
};

// Same decode for both models (one preprocessing pass) when their preprocessing is identical.
bool same_preprocessing(const Engine& a, const Engine& b) {
    return a.input_height() == b.input_height() && a.input_width() == b.input_width() &&
           a.info().preprocess == b.info().preprocess;
}

int eval(const EvalArgs& a) {
    auto engine = a.engine.load();
    std::unique_ptr<Engine> ref;
    if (!a.reference_model.empty()) {
        EngineOptions ro = a.engine.options;
        ro.precision = a.reference_precision;
        ref = Engine::load(a.reference_model, ro);
        check(ref->num_classes() == engine->num_classes(),
              "--reference-model " + a.reference_model + " has " + std::to_string(ref->num_classes()) +
                  " classes, the model has " + std::to_string(engine->num_classes()));
    }
    const int classes = engine->num_classes();

    EvalSet set;
    if (!a.labels_csv.empty()) {
        set = csv_set(a.labels_csv, a.data, classes);
    } else {
        check(a.data.size() == 1, "give one DATA folder of class folders, or image paths with --labels-csv FILE");
        const std::string& d = a.data[0];
        if (d.size() > 4 && d.compare(d.size() - 4, 4, ".csv") == 0)
            set = csv_set(d, {}, classes);  // `vitrt eval labels.csv`: the CSV is the data set
        else
            set = folder_set(d, classes);
    }
    keep_evenly(set, a.num);
    const auto& images = set.images;

    const bool share_input = ref && same_preprocessing(*engine, *ref);
    const size_t per = engine->input_size(), ref_per = ref ? ref->input_size() : 0;
    const int B = a.batch;
    std::vector<float> input(per * size_t(B)), logits(size_t(classes) * size_t(B));
    std::vector<float> ref_input(ref && !share_input ? ref_per * size_t(B) : 0);
    std::vector<float> ref_logits(ref ? size_t(classes) * size_t(B) : 0);

    const ModelInfo& info = engine->info();
    if (!a.no_progress) {
        std::cerr << "eval: " << info.architecture << " (" << a.engine.options.precision << ", " << info.backend << ") on "
                  << set.how;
        if (set.unlabelled_skipped) std::cerr << "; " << set.unlabelled_skipped << " unlabelled row(s) skipped";
        if (set.not_in_data) std::cerr << "; " << set.not_in_data << " row(s) outside DATA skipped";
        std::cerr << "\n";
        if (ref) std::cerr << "eval: reference " << ref->info().architecture << " (" << a.reference_precision << ")\n";
    }

    Scores scores, ref_scores;
    long long agree = 0;
    double cos_sum = 0, cos_min = 2;
    std::string cos_min_image;
    std::vector<std::pair<std::string, std::string>> failed;
    double model_s = 0, ref_s = 0;
    Progress progress(images.size(), !a.no_progress);
    const auto t0 = clock_type::now();

    for (size_t start = 0; start < images.size(); start += size_t(B)) {
        const size_t n = std::min(images.size() - start, size_t(B));
        std::vector<std::string> err(n);
#pragma omp parallel for schedule(dynamic)
        for (size_t i = 0; i < n; ++i) {
            try {
                engine->preprocess_file(images[start + i].path, input.data() + i * per);
                if (ref && !share_input) ref->preprocess_file(images[start + i].path, ref_input.data() + i * ref_per);
            } catch (const std::exception& e) {
                err[i] = e.what();
            }
        }
        std::vector<size_t> ok;  // pack the images that decoded and run them as one batch
        for (size_t i = 0; i < n; ++i) {
            if (!err[i].empty()) {
                failed.emplace_back(images[start + i].path, err[i]);
                progress.message("error: " + err[i]);
                continue;
            }
            if (ok.size() != i) {
                std::copy_n(input.data() + i * per, per, input.data() + ok.size() * per);
                if (!ref_input.empty())
                    std::copy_n(ref_input.data() + i * ref_per, ref_per, ref_input.data() + ok.size() * ref_per);
            }
            ok.push_back(i);
        }
        if (!ok.empty()) {
            const int m = int(ok.size());
            auto s = clock_type::now();
            engine->run(input.data(), m, logits.data());
            model_s += std::chrono::duration<double>(clock_type::now() - s).count();
            if (ref) {
                s = clock_type::now();
                ref->run(share_input ? input.data() : ref_input.data(), m, ref_logits.data());
                ref_s += std::chrono::duration<double>(clock_type::now() - s).count();
            }
        }
        for (size_t k = 0; k < ok.size(); ++k) {
            const LabelledImage& im = images[start + ok[k]];
            const float* l = logits.data() + k * size_t(classes);
            const int pred = scores.add(l, classes, im.label);
            if (!ref) continue;
            const float* r = ref_logits.data() + k * size_t(classes);
            agree += ref_scores.add(r, classes, im.label) == pred;
            const double c = cosine(l, r, classes);
            cos_sum += c;
            if (c < cos_min) cos_min = c, cos_min_image = im.path;
        }
        progress.update(start + n, std::chrono::duration<double>(clock_type::now() - t0).count(), scores);
    }
    progress.finish();
    const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();

    std::string interp = "unknown";
    double crop_pct = 0;
    resize_fields(info, &interp, &crop_pct);
    const long long done = scores.n;
    nlohmann::ordered_json r;
    r["model"] = info.architecture;
    r["top1"] = round_to(scores.top1_pct(), 4);
    r["top1_err"] = round_to(100.0 - scores.top1_pct(), 4);
    r["top5"] = round_to(scores.top5_pct(), 4);
    r["top5_err"] = round_to(100.0 - scores.top5_pct(), 4);
    r["loss"] = round_to(scores.mean_loss(), 6);
    r["param_count"] = round_to(double(info.parameters) / 1e6, 2);
    r["img_size"] = engine->input_width();
    r["crop_pct"] = crop_pct;
    r["interpolation"] = interp;
    r["images"] = done;
    r["top1_correct"] = scores.top1;
    r["top5_correct"] = scores.top5;
    r["failed"] = failed.size();
    r["images_per_s"] = round_to(seconds > 0 ? double(done) / seconds : 0, 2);  // decode + forward (+ reference)
    r["model_images_per_s"] = round_to(model_s > 0 ? double(done) / model_s : 0, 2);  // forward only
    r["seconds"] = round_to(seconds, 3);
    r["batch"] = B;
    r["precision"] = a.engine.options.precision;
    r["device"] = a.engine.options.device;
    r["threads"] = a.engine.options.threads;
    r["backend"] = info.backend;
    if (!info.precision.empty()) r["weights_precision"] = info.precision;  // linear weights by storage
    r["model_path"] = a.engine.model.empty() ? default_model_path() : a.engine.model;
    r["data"] = set.how;
    r["unlabelled_skipped"] = set.unlabelled_skipped;
    if (ref) {
        const double agreement = done ? 100.0 * double(agree) / double(done) : 0;
        r["agreement_top1"] = round_to(agreement, 4);
        r["logit_cosine_mean"] = done ? cos_sum / double(done) : 0;
        r["logit_cosine_min"] = done ? cos_min : 0;
        r["logit_cosine_min_image"] = cos_min_image;
        nlohmann::ordered_json rr;
        rr["model"] = ref->info().architecture;
        rr["model_path"] = a.reference_model;
        rr["precision"] = a.reference_precision;
        rr["top1"] = round_to(ref_scores.top1_pct(), 4);
        rr["top1_correct"] = ref_scores.top1;
        rr["top5"] = round_to(ref_scores.top5_pct(), 4);
        rr["loss"] = round_to(ref_scores.mean_loss(), 6);
        rr["model_images_per_s"] = round_to(ref_s > 0 ? double(done) / ref_s : 0, 2);
        r["reference"] = rr;
    }
    if (!failed.empty()) {
        nlohmann::ordered_json f = nlohmann::ordered_json::array();
        for (const auto& [path, msg] : failed) f.push_back({{"image", path}, {"error", msg}});
        r["failed_images"] = f;
    }

    make_utf8(r);
    if (!a.results_file.empty()) {
        std::ofstream out(a.results_file);
        check(bool(out), a.results_file + ": cannot write the results file");
        out << r.dump(2) << "\n";
        check(bool(out), a.results_file + ": write failed");
    }
    if (a.json) {
        std::cout << r.dump() << "\n";
    } else {
        std::printf("model      %s (%s, %s)\n", info.architecture.c_str(), a.engine.options.precision.c_str(),
                    info.backend.c_str());
        std::printf("data       %s\n", set.how.c_str());
        std::printf("images     %lld evaluated, %zu failed\n", done, failed.size());
        std::printf("top-1      %.4f %% (%lld)\n", scores.top1_pct(), scores.top1);
        std::printf("top-5      %.4f %% (%lld)\n", scores.top5_pct(), scores.top5);
        std::printf("loss       %.6f\n", scores.mean_loss());
        std::printf("speed      %.2f images/s end to end, %.2f images/s forward only (batch %d)\n",
                    double(r["images_per_s"]), double(r["model_images_per_s"]), B);
        if (ref) {
            std::printf("reference  %s (%s): top-1 %.4f %%, top-5 %.4f %%, loss %.6f\n",
                        ref->info().architecture.c_str(), a.reference_precision.c_str(), ref_scores.top1_pct(),
                        ref_scores.top5_pct(), ref_scores.mean_loss());
            std::printf("agreement  top-1 %.4f %% (%lld of %lld); logit cosine mean %.6f, worst %.6f (%s)\n",
                        double(r["agreement_top1"]), agree, done, double(r["logit_cosine_mean"]),
                        double(r["logit_cosine_min"]), cos_min_image.c_str());
        }
    }
    if (!failed.empty()) std::cerr << failed.size() << " of " << images.size() << " image(s) failed\n";
    return failed.empty() ? 0 : 1;
}

}  // namespace

void add_eval(CLI::App& root) {
    auto a = std::make_shared<EvalArgs>();
    CLI::App* app = root.add_subcommand(
        "eval", "top-1/top-5 accuracy, loss and images/s on labelled images (timm validate.py's numbers)");
    a->engine.add_to(*app);
    app->add_option("data", a->data,
                    "an ImageNet-style folder of class folders (synset names map to ImageNet indices for 1000-class "
                    "models); or a labels CSV; or, with --labels-csv, the files/folders to evaluate");
    app->add_option("--labels-csv", a->labels_csv,
                    "CSV of path,class_index rows (header optional; relative paths from the CSV's folder or its "
                    "parent; negative index = unlabelled, skipped)");
    app->add_option("--batch,-b", a->batch, "images per forward pass")->check(CLI::Range(1, 4096));
    app->add_option("--num", a->num, "evaluate only this many images, evenly spaced over the set")
        ->check(CLI::NonNegativeNumber);
    app->add_option("--reference-model", a->reference_model,
                    "also run this model (same device and threads) and report top-1 agreement and logit cosine");
    app->add_option("--reference-precision", a->reference_precision, "precision of the reference model (default f32)");
    app->add_option("--results-file", a->results_file, "write the results as JSON (timm validate.py key names)");
    app->add_flag("--json", a->json, "print the results as one JSON object instead of the summary");
    app->add_flag("--no-progress", a->no_progress, "no set-up or progress lines on stderr (errors are still printed)");
    app->final_callback([a]() {
        check(!a->data.empty() || !a->labels_csv.empty(),
              "eval needs DATA (a folder of class folders, or a labels CSV) or --labels-csv FILE");
        throw CLI::RuntimeError(eval(*a));
    });
}

}  // namespace vitrt::cli
