// Loading checkpoints whose values are hostile (issue 11): a NaN or Inf in any float weight is
// refused at load naming the tensor (a NaN anywhere turns every output into NaN, which used to
// print "prob": nan). The bundled ViT-Ti/16 with single values changed, and a generated FastViT
// whose BatchNorm statistics fold into NaN. Exact checks on the messages only.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "common/test_env.hpp"
#include "engine/backend_factory.hpp"
#include "io/checkpoint.hpp"
#include "load/load.hpp"
#include "vitrt/vitrt.hpp"

namespace fs = std::filesystem;

namespace vitrt {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

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

std::string load_error(const std::string& path) {
    try {
        Engine::load(path, {.threads = 1});
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

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
        const std::string msg = load_error(dir);
        EXPECT_TRUE(contains(msg, std::string("weight '") + c.tensor + "' holds NaN or Inf values")) << c.tensor << ": " << msg;
        EXPECT_TRUE(contains(msg, dir + "/model.safetensors: ")) << "names the file: " << msg;
    }
    // Large but finite values load (overflowing activations are an error per image instead:
    // tests/cli/test_cli_hardening.cpp).
    EXPECT_EQ(load_error(poisoned("head.weight", 0, 3e38f)), "");
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

}  // namespace
}  // namespace vitrt
