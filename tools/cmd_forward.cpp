// vitrt forward: raw tensors in, raw logits out (for scripts and reference checks).
#include <fstream>
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "io/mmap_file.hpp"

namespace vitrt::cli {

void add_forward(CLI::App& root) {
    struct Args {
        EngineFlags engine;
        std::string input, output;
        int batch = 1;
    };
    auto a = std::make_shared<Args>();
    CLI::App* app = root.add_subcommand("forward", "run preprocessed f32 NCHW tensors from a raw file; write raw f32 logits");
    a->engine.add_to(*app);
    app->add_option("--input,-i", a->input, "raw little-endian f32 [batch, 3, H, W]")->required();
    app->add_option("--output,-o", a->output, "raw f32 [batch, classes] written here")->required();
    app->add_option("--batch,-b", a->batch, "images in the input file")->check(int_range(1, 65536));
    app->final_callback([a]() {
        auto engine = a->engine.load();
        const size_t n = engine->input_size() * size_t(a->batch);
        check_regular_file(a->input);  // the size check below needs a file; a FIFO would block
        std::ifstream f(a->input, std::ios::binary | std::ios::ate);
        check(bool(f), a->input + ": cannot open");
        const auto size = size_t(f.tellg());
        check(size == n * 4, a->input + ": has " + std::to_string(size) + " bytes, expected " + std::to_string(n * 4) +
                                 " (batch " + std::to_string(a->batch) + " x 3 x " + std::to_string(engine->input_height()) +
                                 " x " + std::to_string(engine->input_width()) + " f32)");
        std::vector<float> in(n);
        f.seekg(0);
        f.read(reinterpret_cast<char*>(in.data()), std::streamsize(size));
        const auto logits = engine->run(in.data(), a->batch);
        std::ofstream o(a->output, std::ios::binary);
        o.write(reinterpret_cast<const char*>(logits.data()), std::streamsize(logits.size() * 4));
        check(bool(o), a->output + ": cannot write");
    });
}

}  // namespace vitrt::cli
