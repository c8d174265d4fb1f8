// Shared pieces of the vitrt CLI subcommands: engine flags, image listing.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "vitrt/vitrt.hpp"

namespace vitrt::cli {

struct EngineFlags {
    std::string model;
    EngineOptions options;
    void add_to(CLI::App& app);
    std::unique_ptr<Engine> load() const;  // default model when --model is absent
};

// Files given explicitly are kept as they are; directories are walked recursively for
// .jpg/.jpeg/.png (any case), sorted. A missing path is returned too (it fails later, loudly).
std::vector<std::string> list_images(const std::vector<std::string>& inputs);

std::string json_escape(const std::string& s);

void add_classify(CLI::App& root);
void add_info(CLI::App& root);
void add_forward(CLI::App& root);
void add_bench(CLI::App& root);
void add_embed(CLI::App& root);
void add_quantize(CLI::App& root);
void add_eval(CLI::App& root);

}  // namespace vitrt::cli
