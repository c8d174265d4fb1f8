#include "io/model_source.hpp"

#include "io/mmap_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace vitrt {

nlohmann::json read_json_file(const std::string& path) {
    check_regular_file(path);  // a FIFO named config.json would block the read
    std::ifstream f(path, std::ios::binary);
    check(bool(f), path + ": cannot open");
    std::stringstream ss;
    ss << f.rdbuf();
    try {
        return nlohmann::json::parse(ss.str());
    } catch (const std::exception& e) {
        throw Error(path + ": invalid JSON: " + e.what());
    }
}

namespace {

Checkpoint load_weights_file(const fs::path& p) {
    const std::string ext = p.extension().string();
    if (ext == ".safetensors") return load_safetensors(p.string());
    if (ext == ".npz") return load_npz(p.string());
    if (ext == ".bin" || ext == ".pth" || ext == ".pt" || ext == ".ckpt")
        throw Error(p.string() + ": PyTorch pickle checkpoints are not read (they can run code); convert with "
                                 "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')");
    return load_checkpoint(p.string());  // unknown extension: sniffs the content
}

fs::path find_weights_in_dir(const fs::path& dir) {
    for (const char* name : {"model.safetensors", "open_clip_model.safetensors"})
        if (fs::exists(dir / name)) return dir / name;
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(dir)) {
        const auto ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".safetensors" || ext == ".npz")) found.push_back(e.path());
    }
    check(!found.empty(), dir.string() + ": no model.safetensors, *.safetensors or *.npz in this directory");
    check(found.size() == 1, dir.string() + ": several weight files here; pass the one to use with --model FILE");
    return found.front();
}

}  // namespace

ModelSource open_model_source(const std::string& path) {
    const fs::path p(path);
    std::error_code ec;
    check(fs::exists(p, ec), path + ": no such file or directory");
    ModelSource src;
    fs::path dir = p.parent_path();
    if (fs::is_directory(p, ec)) {
        dir = p;
        src.checkpoint = load_weights_file(find_weights_in_dir(p));
    } else {
        src.checkpoint = load_weights_file(p);
    }
    if (dir.empty()) dir = ".";
    // A file written by `vitrt quantize` carries its source model's timm config (architecture,
    // pretrained_cfg, labels): it wins over any config.json that happens to lie beside it.
    if (auto it = src.checkpoint.metadata.find("vitrt.config"); it != src.checkpoint.metadata.end()) {
        try {
            src.config = nlohmann::json::parse(it->second);
        } catch (const std::exception& e) {
            throw Error(path + ": metadata vitrt.config is not JSON: " + e.what());
        }
        check(src.config.is_object() && src.config.contains("architecture"),
              path + ": metadata vitrt.config must be a timm config object with an \"architecture\"");
        src.config_kind = ConfigKind::timm;
        return src;
    }
    if (fs::exists(dir / "config.json")) {
        src.config = read_json_file((dir / "config.json").string());
        check(src.config.is_object(), (dir / "config.json").string() + ": expected a JSON object");
        if (src.config.contains("architecture")) src.config_kind = ConfigKind::timm;
        else if (src.config.contains("architectures") || src.config.contains("model_type")) src.config_kind = ConfigKind::transformers;
        else src.config = nullptr;  // some other tool's config.json: not ours to interpret
    }
    if (fs::exists(dir / "preprocessor_config.json"))
        src.preprocessor = read_json_file((dir / "preprocessor_config.json").string());
    return src;
}

}  // namespace vitrt
