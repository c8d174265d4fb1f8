// vitrt info: what the checkpoint is and what vitrt will do with it.
#include <iostream>
#include <memory>

#include "cli_common.hpp"

namespace vitrt::cli {

void add_info(CLI::App& root) {
    auto flags = std::make_shared<EngineFlags>();
    auto json = std::make_shared<bool>(false);
    CLI::App* app = root.add_subcommand("info", "print a model's architecture, parameters and preprocessing");
    flags->add_to(*app);
    app->add_flag("--json", *json, "print as one JSON object");
    app->final_callback([flags, json]() {
        auto engine = flags->load();
        const ModelInfo& i = engine->info();
        if (*json) {
            std::cout << "{\"family\": \"" << json_escape(i.family) << "\", \"architecture\": \"" << json_escape(i.architecture)
                      << "\", \"format\": \"" << json_escape(i.source_format) << "\", \"dtype\": \"" << i.storage_dtype
                      << "\", \"parameters\": " << i.parameters << ", \"precision\": \"" << json_escape(i.precision)
                      << "\", \"backend\": \"" << json_escape(i.backend) << "\"";
            for (const auto& [k, v] : i.fields) std::cout << ", \"" << k << "\": \"" << json_escape(v) << "\"";
            std::cout << ", \"preprocess\": {";
            for (size_t n = 0; n < i.preprocess.size(); ++n)
                std::cout << (n ? ", " : "") << "\"" << i.preprocess[n].first << "\": \"" << json_escape(i.preprocess[n].second) << "\"";
            std::cout << "}, \"notes\": [";
            for (size_t n = 0; n < i.notes.size(); ++n) std::cout << (n ? ", " : "") << "\"" << json_escape(i.notes[n]) << "\"";
            std::cout << "]}\n";
            return;
        }
        std::cout << "architecture   " << i.architecture << " (" << i.family << ")\n"
                  << "format         " << i.source_format << "\n"
                  << "storage dtype  " << i.storage_dtype << "\n"
                  << "parameters     " << i.parameters << " (" << (i.parameters / 1e6) << " M)\n"
                  << "precision      " << i.precision << " (linear weights)\n"
                  << "backend        " << i.backend << "\n";
        for (const auto& [k, v] : i.fields) std::cout << "  " << k << std::string(k.size() < 22 ? 22 - k.size() : 1, ' ') << v << "\n";
        std::cout << "preprocessing\n";
        for (const auto& [k, v] : i.preprocess) std::cout << "  " << k << std::string(k.size() < 22 ? 22 - k.size() : 1, ' ') << v << "\n";
        for (const auto& n : i.notes) std::cout << "note: " << n << "\n";
    });
}

}  // namespace vitrt::cli
