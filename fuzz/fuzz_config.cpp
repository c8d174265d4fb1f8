// libFuzzer target: a model directory's config.json and preprocessor_config.json, through what
// the loaders do with them. The input is written as both files beside a tiny valid ViT
// (model.safetensors: 8 wide, 1 block, patch 4, 8x8 pixels, 3 classes, its metadata giving 2
// heads), then: open_model_source (JSON parsing, config kind), the pretrained_cfg readers
// (architecture name, timm model args, class names), and load_model on the reference backend:
// the name and model args cross-checked against the tensors, timm pretrained_cfg and transformers
// preprocessor values, layer_norm_eps, img_size; then, for small results, the preprocessing and
// one forward pass (fuzz_model.hpp). Strict: anything but vitrt::Error escaping is a finding.
#include <cstdio>
#include <filesystem>

#include "fuzz_common.hpp"
#include "fuzz_model.hpp"
#include "io/checkpoint.hpp"
#include "load/pretrained_cfg.hpp"

namespace fs = std::filesystem;

namespace {

void tiny_vit(const std::string& path) {
    const int64_t D = 8, P = 4, T = 5, M = 32, K = 3;
    std::map<std::string, vitrt::HostTensor> t;
    auto put = [&](const std::string& name, vitrt::Shape shape, float v) {
        vitrt::HostTensor h = vitrt::HostTensor::zeros_f32(shape);
        for (int64_t i = 0; i < h.view.numel(); ++i) h.mutable_f32()[i] = v * float(1 + i % 7);
        t[name] = h;
    };
    put("patch_embed.proj.weight", {D, 3, P, P}, 0.01f);
    put("patch_embed.proj.bias", {D}, 0.01f);
    put("cls_token", {1, 1, D}, 0.01f);
    put("pos_embed", {1, T, D}, 0.01f);
    for (const char* n : {"blocks.0.norm1", "blocks.0.norm2", "norm"}) put(std::string(n) + ".weight", {D}, 1.f), put(std::string(n) + ".bias", {D}, 0.f);
    put("blocks.0.attn.qkv.weight", {3 * D, D}, 0.02f);
    put("blocks.0.attn.qkv.bias", {3 * D}, 0.01f);
    put("blocks.0.attn.proj.weight", {D, D}, 0.02f);
    put("blocks.0.attn.proj.bias", {D}, 0.01f);
    put("blocks.0.mlp.fc1.weight", {M, D}, 0.02f);
    put("blocks.0.mlp.fc1.bias", {M}, 0.01f);
    put("blocks.0.mlp.fc2.weight", {D, M}, 0.02f);
    put("blocks.0.mlp.fc2.bias", {D}, 0.01f);
    put("head.weight", {K, D}, 0.02f);
    put("head.bias", {K}, 0.f);
    vitrt::save_safetensors(path, t, {{"format", "pt"}, {"create_model_kwargs", "{\"num_heads\": 2}"}});
}

const fs::path& model_dir() {
    static const fs::path dir = [] {
        // tmpfs when there is one: two file writes per input.
        std::string base = fs::is_directory("/dev/shm") ? "/dev/shm" : fs::temp_directory_path().string();
        std::string tmpl = base + "/vitrt_fuzz_config_XXXXXX";
        if (!mkdtemp(tmpl.data())) std::abort();
        tiny_vit(tmpl + "/model.safetensors");
        return fs::path(tmpl.c_str());
    }();
    return dir;
}

void write(const fs::path& p, const uint8_t* data, size_t size) {
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (!f || std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const fs::path& dir = model_dir();
    write(dir / "config.json", data, size);
    write(dir / "preprocessor_config.json", data, size);
    try {
        const vitrt::ModelSource src = vitrt::open_model_source(dir.string());
        std::vector<std::string> notes;
        vitrt::architecture_name(src, "", [](const std::string& n) { return n.rfind("vit_", 0) == 0; }, notes);
        vitrt::timm_model_args(src);
        vitrt::labels_from(src, 3);
        vitrt::labels_from(src, 1000);
        vitrt::fuzz::load_and_run(dir.string());
    } catch (const vitrt::Error&) {
    }
    return 0;
}
