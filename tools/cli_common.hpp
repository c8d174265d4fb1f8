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

// Escapes s for inside a JSON string. The result is always valid UTF-8: bytes that are not
// part of a valid UTF-8 sequence (e.g. a Latin-1 file name) are written as the six characters
// "\\xNN" (Python's "backslashreplace"), so the JSON stays valid and the byte stays visible.
std::string json_escape(const std::string& s);
// s as valid UTF-8, with the same "\\xNN" escapes for invalid bytes (for strings handed to a
// JSON library, which would otherwise refuse them).
std::string utf8_escaped(const std::string& s);

// A JSON number, or null for NaN/Inf (which JSON cannot represent).
std::string json_number(double v);

// An integer flag's range check with a message naming the flag and the range
// ("--top-k must be at least 1 (got 0)"), instead of CLI11's floating-point range text.
CLI::Validator int_range(long long lo, long long hi);

// Throws vitrt::Error when stdout is in a failed state (disk full, closed pipe, ...).
void check_stdout();

void add_classify(CLI::App& root);
void add_info(CLI::App& root);
void add_forward(CLI::App& root);
void add_bench(CLI::App& root);
void add_embed(CLI::App& root);
void add_quantize(CLI::App& root);
void add_eval(CLI::App& root);
void add_serve(CLI::App& root);

}  // namespace vitrt::cli
