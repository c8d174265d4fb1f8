// Loading checkpoints whose values are hostile (issue 11): a NaN or Inf in any float weight is
// refused at load naming the tensor (a NaN anywhere turns every output into NaN, which used to
// print "prob": nan). The bundled ViT-Ti/16 with single values changed, and a generated FastViT
// whose BatchNorm statistics fold into NaN. Exact checks on the messages only.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "common/load_error.hpp"
#include "common/test_env.hpp"
#include "engine/backend_factory.hpp"
#include "io/checkpoint.hpp"
#include "load/load.hpp"
#include "vitrt/vitrt.hpp"

namespace fs = std::filesystem;

namespace vitrt {
namespace {

using test::contains;

HostTensor to_bf16(const HostTensor& f) {
    auto buf = std::make_shared<std::vector<uint16_t>>(size_t(f.view.numel()));
    for (size_t i = 0; i < buf->size(); ++i) (*buf)[i] = f32_to_bf16(f.f32()[i]);
    HostTensor h;
    h.view = Tensor{buf->data(), DType::bf16, f.view.shape};
    h.owner = buf;
    return h;
}

std::string bundled() { return test::source_dir() + "/models/vit_tiny_patch16_224"; }

// The bundled model with element `index` of tensor `name` set to `value`, saved as `dtype`
// (f32 or bf16); returns the directory (config.json copied).
std::string poisoned(const std::string& name, int64_t index, float value, DType dtype = DType::f32) {
    const std::string dir = test::temp_dir() + "/" + name + "_" + std::to_string(index) + "_" + dtype_name(dtype);
    fs::create_directories(dir);
    fs::copy_file(bundled() + "/config.json", dir + "/config.json");
    Checkpoint ck = load_safetensors(bundled() + "/model.safetensors");
    std::map<std::string, HostTensor> tensors;
    for (auto& [k, t] : ck.tensors) {
        HostTensor f = to_f32(t);
        if (k == name) {
            HostTensor c = HostTensor::zeros_f32(f.view.shape);
            std::copy(f.f32(), f.f32() + f.view.numel(), c.mutable_f32());
            c.mutable_f32()[index] = value;
            f = c;
        }
        tensors[k] = dtype == DType::bf16 ? to_bf16(f) : f;
    }
    save_safetensors(dir + "/model.safetensors", tensors);
    return dir;
}

using test::engine_load_error;

TEST(LoadHardening, NonFiniteWeightsAreRefusedNamingTheTensor) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    struct Case {
        const char* tensor;
        int64_t index;
        float value;
        DType dtype;
    };
    const Case cases[] = {
        {"blocks.3.mlp.fc1.weight", 1234, nan, DType::f32},  // a linear weight
        {"blocks.11.attn.proj.bias", 0, -inf, DType::f32},   // a bias (param)
        {"pos_embed", 5, inf, DType::f32},
        {"cls_token", 7, nan, DType::f32},                   // combined with other prefix tokens
        {"head.weight", 191999, inf, DType::bf16},           // bf16 storage, last element
        {"norm.weight", 3, nan, DType::bf16},
    };
    for (const Case& c : cases) {
        const std::string dir = poisoned(c.tensor, c.index, c.value, c.dtype);
        const std::string msg = engine_load_error(dir);
        EXPECT_TRUE(contains(msg, std::string("weight '") + c.tensor + "' holds NaN or Inf values")) << c.tensor << ": " << msg;
        EXPECT_TRUE(contains(msg, dir + "/model.safetensors: ")) << "names the file: " << msg;
    }
    // Large but finite values load (overflowing activations are an error per image instead:
    // tests/cli/test_cli_hardening.cpp).
    EXPECT_EQ(engine_load_error(poisoned("head.weight", 0, 3e38f)), "");
}

TEST(LoadHardening, NonFiniteWeightsAreRefusedInQuantizedAndIntegerPaths) {
    // --precision w8 quantizes at load: the float weight is checked before it is quantized (a NaN
    // would otherwise become a NaN scale or a silent clamp).
    const std::string dir = poisoned("blocks.0.attn.qkv.weight", 10, std::numeric_limits<float>::quiet_NaN());
    for (const char* p : {"w8", "w8a8-dynamic", "bf16"}) {
        EngineOptions o;
        o.threads = 1;
        o.precision = p;
        std::string msg;
        try {
            Engine::load(dir, o);
        } catch (const Error& e) {
            msg = e.what();
        }
        EXPECT_TRUE(contains(msg, "weight 'blocks.0.attn.qkv.weight' holds NaN or Inf")) << p << ": " << msg;
    }
}

// A tiny ViT (8 wide, 1 block, patch 4, 8x8 pixels, 3 classes, 2 heads in its metadata).
void save_tiny_vit(const std::string& path) {
    const int64_t D = 8, P = 4, T = 5, M = 32, K = 3;
    std::map<std::string, HostTensor> t;
    auto put = [&](const std::string& name, Shape shape, float v) {
        HostTensor h = HostTensor::zeros_f32(shape);
        for (int64_t i = 0; i < h.view.numel(); ++i) h.mutable_f32()[i] = v * float(1 + i % 7) * (i % 2 ? -1.f : 1.f);
        t[name] = h;
    };
    put("patch_embed.proj.weight", {D, 3, P, P}, 0.05f);
    put("patch_embed.proj.bias", {D}, 0.01f);
    put("cls_token", {1, 1, D}, 0.01f);
    put("pos_embed", {1, T, D}, 0.01f);
    for (const char* n : {"blocks.0.norm1", "blocks.0.norm2", "norm"})
        put(std::string(n) + ".weight", {D}, 1.f), put(std::string(n) + ".bias", {D}, 0.f);
    put("blocks.0.attn.qkv.weight", {3 * D, D}, 0.05f);
    put("blocks.0.attn.qkv.bias", {3 * D}, 0.01f);
    put("blocks.0.attn.proj.weight", {D, D}, 0.05f);
    put("blocks.0.attn.proj.bias", {D}, 0.01f);
    put("blocks.0.mlp.fc1.weight", {M, D}, 0.05f);
    put("blocks.0.mlp.fc1.bias", {M}, 0.01f);
    put("blocks.0.mlp.fc2.weight", {D, M}, 0.05f);
    put("blocks.0.mlp.fc2.bias", {D}, 0.01f);
    put("head.weight", {K, D}, 0.05f);
    put("head.bias", {K}, 0.f);
    save_safetensors(path, t, {{"format", "pt"}, {"create_model_kwargs", "{\"num_heads\": 2}"}});
}

TEST(LoadHardening, QuantizedLayersNarrowerThanTheirGroupLoad) {
    // `vitrt quantize --scheme w8` (default group 128) on layers with 8 inputs wrote group_size
    // 128, which the loader refused ("invalid group_size"): a group wider than the row is one
    // group per row. Found by the quantized fuzz target's seeds (fuzz/make_corpus.py).
    const std::string dir = test::temp_dir() + "/narrow";
    fs::create_directories(dir);
    save_tiny_vit(dir + "/tiny.safetensors");
    for (const char* scheme : {"w8", "w4"}) {
        const std::string q = dir + "/" + scheme + ".safetensors";
        std::string out;
        ASSERT_EQ(test::run_command(test::cli_path() + " quantize --model " + dir + "/tiny.safetensors --calib " +
                                        test::source_dir() + "/samples --num 1 --threads 1 --quantize-head --scheme " +
                                        scheme + " -o " + q, &out), 0) << out;
        auto e = Engine::load(q, {.threads = 1});
        EXPECT_NE(e->info().precision.find(std::string("5 x ") + scheme), std::string::npos) << e->info().precision;
        std::vector<float> x(e->input_size());
        e->preprocess_file(test::source_dir() + "/samples/tench.jpg", x.data());
        EXPECT_EQ(e->run(x.data(), 1).size(), 3u);
    }
}

TEST(LoadHardening, PatchTokensAreBoundedBeforeAnythingIsBuilt) {
    // Patch 4 at 4096x4096 would be a million tokens (a 32 MB position embedding here, GBs of
    // activations); the bound is --image-size's 4096 at patch 16.
    const std::string path = test::temp_dir() + "/tokens.safetensors";
    save_tiny_vit(path);
    try {
        Engine::load(path, {.threads = 1, .image_size = 4096});
        ADD_FAILURE() << "a million tokens accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("gives 1048576 patch tokens; the limit is 65536"), std::string::npos) << e.what();
    }
    EXPECT_EQ(Engine::load(path, {.threads = 1, .image_size = 1024})->input_height(), 1024);  // 65536 tokens
}

}  // namespace
}  // namespace vitrt
