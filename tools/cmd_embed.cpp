// vitrt embed: pooled pre-logits features (or, with --tokens, the token sequence after the final
// norm) of every image into one .npy, rows in input order, plus the list of files beside it.
#include <fstream>
#include <iostream>

#include "cli_common.hpp"
#include "io/npy.hpp"

namespace vitrt::cli {

void add_embed(CLI::App& root) {
    struct Args {
        EngineFlags engine;
        std::vector<std::string> inputs;
        std::string output = "embeddings.npy";
        bool tokens = false;
        int batch = 8;
    };
    auto a = std::make_shared<Args>();
    CLI::App* app = root.add_subcommand("embed", "image embeddings (timm pre-logits features) into an .npy file");
    a->engine.add_to(*app);
    app->add_option("--output,-o", a->output, "output .npy (N x D, or N x T x D with --tokens); the file list goes to "
                                              "OUTPUT.files.txt");
    app->add_flag("--tokens", a->tokens, "the token sequence after the final norm (timm forward_features)");
    app->add_option("--batch", a->batch, "images per forward")->check(CLI::Range(1, 256));
    app->add_option("images", a->inputs, "image files or directories")->required();
    app->final_callback([a]() {
        auto engine = a->engine.load();
        const Output what = a->tokens ? Output::tokens : Output::embedding;
        const std::vector<std::string> files = list_images(a->inputs);
        check(!files.empty(), "embed: no images found");
        const size_t per_in = engine->input_size(), per_out = engine->output_size(what);
        std::vector<std::string> ok_files;
        std::vector<float> rows;
        int failed = 0;
        std::vector<float> in;
        std::vector<std::string> batch_files;
        auto flush = [&] {
            if (batch_files.empty()) return;
            std::vector<float> y = engine->run(in.data(), int(batch_files.size()), what);
            rows.insert(rows.end(), y.begin(), y.end());
            ok_files.insert(ok_files.end(), batch_files.begin(), batch_files.end());
            in.clear(), batch_files.clear();
        };
        for (const auto& f : files) {
            std::vector<float> x(per_in);
            try {
                engine->preprocess_file(f, x.data());
            } catch (const Error& e) {
                std::cerr << "error: " << e.what() << "\n";
                ++failed;
                continue;
            }
            in.insert(in.end(), x.begin(), x.end());
            batch_files.push_back(f);
            if (int(batch_files.size()) == a->batch) flush();
        }
        flush();
        check(!ok_files.empty(), "embed: no image could be read");
        Shape shape{int64_t(ok_files.size())};
        for (long long d : engine->output_shape(what)) shape.push_back(d);
        io::save_npy_f32(a->output, shape, rows.data());
        std::ofstream list(a->output + ".files.txt");
        for (const auto& f : ok_files) list << f << "\n";
        list.close();
        check(bool(list), a->output + ".files.txt: write failed");
        std::cout << "wrote " << a->output << " " << shape_str(shape) << " and " << a->output << ".files.txt\n";
        if (failed) throw CLI::RuntimeError(1);
    });
}

}  // namespace vitrt::cli
