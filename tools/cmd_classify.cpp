// vitrt classify: top-k labels per image; bad images get an error line, the rest still run.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli_common.hpp"
#include "engine/labels.hpp"

namespace vitrt::cli {
namespace {

struct ClassifyArgs {
    EngineFlags engine;
    std::vector<std::string> inputs;
    int top_k = 5;
    bool json = false;
    bool logits = false;
    int batch = 1;
    std::string labels_file;
};

void print_result(const ClassifyArgs& a, const std::string& image, const std::vector<Prediction>& top,
                  const float* logits, int classes) {
    std::ostringstream o;
    if (a.json) {
        o << "{\"image\": \"" << json_escape(image) << "\", \"top_k\": [";
        for (size_t i = 0; i < top.size(); ++i)
            o << (i ? ", " : "") << "{\"index\": " << top[i].index << ", \"label\": \"" << json_escape(top[i].label)
              << "\", \"prob\": " << json_number(top[i].prob) << "}";
        o << "]";
        if (a.logits) {
            o << ", \"logits\": [";
            for (int i = 0; i < classes; ++i) o << (i ? ", " : "") << json_number(logits[i]);
            o << "]";
        }
        o << "}\n";
    } else {
        o << image << "\n";
        for (const auto& p : top) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "  %6.4f  ", p.prob);
            o << buf << p.label << " (" << p.index << ")\n";
        }
        if (a.logits) {
            o << "  logits:";
            for (int i = 0; i < classes; ++i) o << " " << logits[i];
            o << "\n";
        }
    }
    std::cout << o.str() << std::flush;
    check_stdout();  // stop at the first failed write rather than classify into the void
}

void print_error(const ClassifyArgs& a, const std::string& image, const std::string& msg) {
    std::cerr << "error: " << msg << "\n";
    if (a.json) {
        std::cout << "{\"image\": \"" << json_escape(image) << "\", \"error\": \"" << json_escape(msg) << "\"}\n"
                  << std::flush;
        check_stdout();
    }
}

// NaN/Inf logits (overflow in the model, or non-finite weights) make every probability
// meaningless: that image is an error, not a result.
bool all_finite(const float* v, int n) {
    for (int i = 0; i < n; ++i)
        if (!std::isfinite(v[i])) return false;
    return true;
}

int classify(const ClassifyArgs& a) {
    auto engine = a.engine.load();
    std::vector<std::string> labels = engine->labels();
    if (!a.labels_file.empty()) {
        labels = read_labels_file(a.labels_file);
        check(int(labels.size()) == engine->num_classes(),
              a.labels_file + ": has " + std::to_string(labels.size()) + " labels, the model has " +
                  std::to_string(engine->num_classes()) + " classes");
    }
    const auto images = list_images(a.inputs);
    check(!images.empty(), "no images found in the given paths");
    const size_t per = engine->input_size();
    const int classes = engine->num_classes();
    // Buffers for min(batch, images) images: --batch 4096 with one image must not cost 4096 inputs.
    const int B = int(std::min(images.size(), size_t(a.batch)));
    std::vector<float> input(per * size_t(B)), logits(size_t(classes) * size_t(B));
    int failures = 0;
    for (size_t start = 0; start < images.size(); start += size_t(B)) {
        const size_t n = std::min(images.size() - start, size_t(B));
        std::vector<std::string> err(n);
#pragma omp parallel for schedule(dynamic)
        for (size_t i = 0; i < n; ++i) {
            try {
                engine->preprocess_file(images[start + i], input.data() + i * per);
            } catch (const std::exception& e) {
                err[i] = e.what();
            }
        }
        // Pack the images that decoded; run them as one batch.
        std::vector<size_t> ok;
        for (size_t i = 0; i < n; ++i) {
            if (!err[i].empty()) continue;
            if (ok.size() != i) std::copy_n(input.data() + i * per, per, input.data() + ok.size() * per);
            ok.push_back(i);
        }
        if (!ok.empty()) engine->run(input.data(), int(ok.size()), logits.data());
        size_t k = 0;
        for (size_t i = 0; i < n; ++i) {
            if (!err[i].empty()) {
                print_error(a, images[start + i], err[i]);
                ++failures;
                continue;
            }
            const float* l = logits.data() + k++ * size_t(classes);
            if (!all_finite(l, classes)) {
                print_error(a, images[start + i],
                            images[start + i] + ": the model produced non-finite outputs (NaN or Inf) for this image; "
                                                "the weights may hold NaN/Inf, or the activations overflow at this precision");
                ++failures;
                continue;
            }
            auto top = engine->top_k(l, a.top_k);
            for (auto& p : top) p.label = labels[size_t(p.index)];
            print_result(a, images[start + i], top, l, classes);
        }
    }
    if (failures) std::cerr << failures << " of " << images.size() << " image(s) failed\n";
    return failures ? 1 : 0;
}

}  // namespace

void add_classify(CLI::App& root) {
    auto args = std::make_shared<ClassifyArgs>();
    CLI::App* app = root.add_subcommand("classify", "classify JPEG/PNG images (files or directories)");
    args->engine.add_to(*app);
    app->add_option("images", args->inputs, "image files or directories")->required();
    app->add_option("--top-k,-k", args->top_k, "classes to print per image (at least 1; more than the model's classes prints all)")
        ->check(int_range(1, 1 << 30));
    app->add_flag("--json", args->json,
                  "one JSON object per image per line (always valid UTF-8: bytes of a file name that are not UTF-8 "
                  "are written as \\xNN)");
    app->add_flag("--logits", args->logits, "also print the raw logits");
    app->add_option("--batch,-b", args->batch, "images per forward pass (1 to 4096)")->check(int_range(1, 4096));
    app->add_option("--max-image-pixels", args->engine.options.max_image_pixels,
                    "refuse images with more pixels (default 178956970, PIL's decompression-bomb limit; at most 268435456)")
        ->check(int_range(1, 1LL << 28));
    app->add_option("--labels", args->labels_file, "class names, one per line (overrides the model's)");
    app->final_callback([args]() { throw CLI::RuntimeError(classify(*args)); });
}

}  // namespace vitrt::cli
