#include "cli_common.hpp"

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace vitrt::cli {

void EngineFlags::add_to(CLI::App& app) {
    app.add_option("--model,-m", model, "model file (.safetensors, .npz) or directory (HF hub layout); default: bundled ViT-Ti/16");
    app.add_option("--device", options.device, "backend: cpu (default), cuda (NVIDIA GPU, sm_80+) or ref (scalar reference)");
    app.add_option("--threads", options.threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
    app.add_option("--precision", options.precision,
                   "f32 (default), bf16 (cpu: AVX512-BF16/AMX; cuda), w8a8-dynamic (alias int8), w8, w4 (cpu: linear "
                   "layers quantized at load), f16 or tf32 (cuda); a quantized file runs in its own scheme");
    app.add_option("--image-size", options.image_size, "run at this square resolution (position embedding resampled)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--arch", options.arch, "timm architecture name, when the checkpoint does not say");
}

std::unique_ptr<Engine> EngineFlags::load() const {
    return Engine::load(model.empty() ? default_model_path() : model, options);
}

std::vector<std::string> list_images(const std::vector<std::string>& inputs) {
    std::vector<std::string> out;
    for (const auto& in : inputs) {
        std::error_code ec;
        if (!fs::is_directory(in, ec)) {
            out.push_back(in);
            continue;
        }
        std::vector<std::string> found;
        for (auto it = fs::recursive_directory_iterator(in, fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (!it->is_regular_file(ec)) continue;
            std::string ext = it->path().extension().string();
            std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
            if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") found.push_back(it->path().string());
        }
        std::sort(found.begin(), found.end());
        out.insert(out.end(), found.begin(), found.end());
    }
    return out;
}

std::string json_escape(const std::string& s) {
    std::string r;
    for (unsigned char c : s) {
        switch (c) {
            case '"': r += "\\\""; break;
            case '\\': r += "\\\\"; break;
            case '\n': r += "\\n"; break;
            case '\t': r += "\\t"; break;
            case '\r': r += "\\r"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    r += buf;
                } else {
                    r += char(c);
                }
        }
    }
    return r;
}

}  // namespace vitrt::cli
