// vitrt — Vision Transformer inference. Public C++ API.
//
//   auto engine = vitrt::Engine::load("vit_base_patch16_224.safetensors", {.device = "cpu"});
//   std::vector<float> input(engine->input_size());          // or engine->preprocess_file(...)
//   engine->preprocess_file("photo.jpg", input.data());
//   std::vector<float> logits = engine->run(input.data(), 1);
//   auto top5 = engine->top_k(logits.data(), 5);
//
// All errors caused by input are thrown as vitrt::Error with a message naming what, where and how
// to fix. An Engine serialises its own runs (one at a time); use one Engine per thread for
// parallel inference.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vitrt/error.hpp"

namespace vitrt {

struct EngineOptions {
    std::string device = "cpu";    // "cpu", "cuda" (NVIDIA GPU, libvitrt_cuda.so) or "ref" (scalar oracle)
    // f32 | bf16 | w8a8-dynamic (alias int8) | w8 | w4 on cpu; f32 | tf32 | f16 | bf16 on cuda.
    std::string precision = "f32";
    // w8 / w4 quantized at load: one weight scale per this many inputs (0 = the scheme's default,
    // 128 for w8 and 32 for w4; else a power of two from 16 to 1024).
    int group_size = 0;
    int threads = 0;               // 0 = all cores; at most max_threads
    int image_size = 0;            // 0 = the checkpoint's resolution; at most max_image_size
    std::string arch;              // timm architecture name, when the checkpoint does not say
    // Images with more pixels are refused before decoding (0 = PIL's decompression-bomb limit,
    // 178956970 pixels; at most 2^28).
    long long max_image_pixels = 0;
    // Bytes of decoded images in flight at once across the threads calling preprocess_*; a
    // larger image waits and decodes alone (0 = 1 GiB).
    size_t decode_memory_bytes = 0;
};

// Largest --image-size / EngineOptions::image_size: 4096 is 65536 tokens at patch 16, already
// far beyond any trained ViT; above it the arena alone would be tens of GB.
inline constexpr int max_image_size = 4096;
// Largest EngineOptions::threads: more is never useful, and asking for tens of thousands of
// threads aborts inside the OpenMP runtime.
inline constexpr int max_threads = 1024;

struct ModelInfo {
    std::string family;            // "vit"
    std::string architecture;
    std::string source_format;
    std::string storage_dtype;
    long long parameters = 0;
    double flops = 0;              // per image at the running resolution
    std::vector<std::pair<std::string, std::string>> fields;      // dims, depth, heads, ...
    std::vector<std::pair<std::string, std::string>> preprocess;  // what preprocess_file() applies
    std::vector<std::string> notes;                               // load-time decisions
    std::string precision;         // linear weights by precision, e.g. "48 x w8a8-dynamic, 1 x f32"
    std::string backend;           // backend details: library, ISA, threads, attention, GELU
};

// timm's data config (timm.data.resolve_data_config): what preprocess_file() applies.
struct DataConfig {
    int input_size[3] = {3, 224, 224};  // C, H, W
    std::string interpolation = "bicubic";  // bicubic | bilinear | nearest
    float mean[3] = {0.485f, 0.456f, 0.406f};
    float std[3] = {0.229f, 0.224f, 0.225f};
    double crop_pct = 0.875;
    std::string crop_mode = "center";  // center | squash | border
};

// What run() writes per image.
enum class Output {
    logits,     // [num_classes]
    embedding,  // [embed_dim]: pooled pre-logits features (timm forward_head(x, pre_logits=True))
    tokens,     // [num_tokens, embed_dim]: the token sequence after the final norm (forward_features)
};

struct Prediction {
    int index = 0;
    std::string label;
    float prob = 0.f;
};

class Engine {
public:
    static std::unique_ptr<Engine> load(const std::string& model_path, const EngineOptions& options = {});
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    const ModelInfo& info() const;
    int input_height() const;
    int input_width() const;
    size_t input_size() const;  // floats per image: 3 * H * W
    int num_classes() const;
    const std::vector<std::string>& labels() const;  // class names (ImageNet's for 1000 classes)
    const DataConfig& data_config() const;
    // Per-image shape and size (floats) of an output.
    std::vector<long long> output_shape(Output what) const;
    size_t output_size(Output what) const;

    // Decodes a JPEG/PNG file and applies the model's preprocessing into out[input_size()].
    void preprocess_file(const std::string& path, float* out) const;
    // Same for an encoded image in memory.
    void preprocess_encoded(const unsigned char* data, size_t size, const std::string& name, float* out) const;

    // Runs preprocessed images: input [batch, 3, H, W] (host f32) -> out [batch, output_shape(what)]
    // (logits by default). Thread-safe: runs of one engine are serialised.
    void run(const float* input, int batch, float* out, Output what = Output::logits);
    std::vector<float> run(const float* input, int batch, Output what = Output::logits);

    // Time per op kind ("gemm", "attention", "norm", "elementwise", "other") over the runs made
    // since enable_profiling(true); ops are synchronised one by one while profiling is on.
    void enable_profiling(bool on);
    std::vector<std::pair<std::string, double>> profile_seconds() const;

    // Softmax over one image's logits and its k most probable classes.
    std::vector<Prediction> top_k(const float* logits, int k) const;

private:
    struct Impl;
    explicit Engine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// The model used when none is given: $VITRT_MODEL, else the bundled ViT-Ti/16 (models/ in the
// source tree, or share/vitrt/models next to an installed binary).
std::string default_model_path();

}  // namespace vitrt
