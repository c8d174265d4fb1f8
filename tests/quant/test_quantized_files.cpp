// Malformed quantized checkpoints (the files `vitrt quantize` writes, io/weight_reader.hpp): every
// case must be a vitrt::Error at load that names the offending tensor (or metadata entry), never
// a crash, a silent fallback or a model that computes with garbage.
//
// Fixtures: the bundled ViT-Ti/16 quantized once by quantize_model (static w8a8, minmax, the 9
// bundled sample photos; and w4 g32), then one tensor or metadata entry changed per case and the
// file written again. The intact files must load (so each failure is the change's doing).
// No tolerances: the assertions are on error messages only.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "common/test_env.hpp"
#include "engine/backend_factory.hpp"
#include "io/checkpoint.hpp"
#include "load/load.hpp"
#include "quant/quantize_model.hpp"

namespace vitrt {
namespace {

const char* kLayer = "blocks.1.mlp.fc1.weight";  // [768, 192]
const char* kBase = "blocks.1.mlp.fc1";

std::string bundled_model() { return test::source_dir() + "/models/vit_tiny_patch16_224"; }

std::vector<std::string> sample_images() {
    std::vector<std::string> v;
    for (const char* f : {"tench.jpg", "magpie.jpeg", "cheetah.jpg", "polars.jpeg"})
        v.push_back(test::source_dir() + "/samples/" + f);
    return v;
}

// A tensor owning its bytes: dtype, shape, every byte `fill`.
HostTensor filled(DType dt, const Shape& shape, uint8_t fill = 1) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    const size_t bytes = size_t(std::max<int64_t>(1, n)) * dtype_size(dt);
    std::shared_ptr<uint8_t> mem(new uint8_t[bytes], std::default_delete<uint8_t[]>());
    std::memset(mem.get(), fill, bytes);
    HostTensor t;
    t.view = Tensor{mem.get(), dt, shape};
    t.owner = mem;
    return t;
}

HostTensor f32_value(float v) {
    HostTensor t = HostTensor::zeros_f32({1});
    t.mutable_f32()[0] = v;
    return t;
}

struct File {
    std::map<std::string, HostTensor> tensors;
    std::map<std::string, std::string> meta;
    nlohmann::json entries() const { return nlohmann::json::parse(meta.at("vitrt.quantized")); }
    void set_entries(const nlohmann::json& j) { meta["vitrt.quantized"] = j.dump(); }
};

class QuantizedFiles : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new std::string(test::temp_dir());
        QuantizeOptions o;
        o.model = bundled_model();
        o.calib_images = sample_images();
        o.method = "minmax";
        o.threads = 1;
        o.scheme = Precision::w8a8;
        quantize_model(o, *dir_ + "/w8a8.safetensors");
        o.scheme = Precision::w4;
        o.group_size = 32;
        quantize_model(o, *dir_ + "/w4.safetensors");
    }
    static void TearDownTestSuite() { delete dir_; }

    // The fixture's tensors (owned copies) and metadata.
    static File read(const std::string& which) {
        const Checkpoint ck = load_safetensors(*dir_ + "/" + which + ".safetensors");
        File f;
        for (const auto& [k, t] : ck.tensors) {
            HostTensor c = filled(t.view.dtype, t.view.shape, 0);
            std::memcpy(c.view.data, t.view.data, size_t(t.view.numel()) * dtype_size(t.view.dtype));
            f.tensors[k] = c;
        }
        f.meta = ck.metadata;
        return f;
    }

    // Writes f, loads it on the cpu backend; the error message ("" when it loaded).
    static std::string load_error(const File& f) {
        const std::string path = *dir_ + "/case.safetensors";
        save_safetensors(path, f.tensors, f.meta);
        BackendOptions bo;
        bo.threads = 1;
        auto ops = make_backend("cpu", bo);
        try {
            load_model(path, *ops, LoadOptions());
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }

    static void expect_error(const File& f, const std::vector<std::string>& parts) {
        const std::string msg = load_error(f);
        ASSERT_FALSE(msg.empty()) << "loaded without an error";
        for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    }

    static std::string* dir_;
};
std::string* QuantizedFiles::dir_ = nullptr;

TEST_F(QuantizedFiles, IntactFilesLoad) {
    EXPECT_EQ(load_error(read("w8a8")), "");
    EXPECT_EQ(load_error(read("w4")), "");
}

TEST_F(QuantizedFiles, WrongScaleShape) {
    File f = read("w8a8");
    f.tensors[std::string(kLayer) + "_scale"] = HostTensor::zeros_f32({768, 6});  // per channel: [768]
    expect_error(f, {kLayer, "scales have shape [768, 6], expected [768]"});
    File g = read("w4");
    g.tensors[std::string(kLayer) + "_scale"] = HostTensor::zeros_f32({768, 3});  // g32: [768, 6]
    expect_error(g, {kLayer, "scales have shape [768, 3], expected [768, 6]"});
}

TEST_F(QuantizedFiles, ScalesThatAreNotFiniteAndNonZero) {
    File f = read("w4");
    HostTensor s = HostTensor::zeros_f32({768, 6});
    for (int i = 0; i < 768 * 6; ++i) s.mutable_f32()[i] = 0.01f;
    s.mutable_f32()[5] = 0.f;
    f.tensors[std::string(kLayer) + "_scale"] = s;
    expect_error(f, {kLayer, "scale 5 is not a finite non-zero number"});
}

TEST_F(QuantizedFiles, MissingScalesZeroPointOrInputScale) {
    File f = read("w8a8");
    f.tensors.erase(std::string(kBase) + ".input_zero_point");
    expect_error(f, {std::string(kBase) + ".input_zero_point", "missing"});
    f = read("w8a8");
    f.tensors.erase(std::string(kBase) + ".input_scale");
    expect_error(f, {std::string(kBase) + ".input_scale", "missing"});
    f = read("w4");
    f.tensors.erase(std::string(kLayer) + "_scale");
    expect_error(f, {std::string(kLayer) + "_scale", "missing"});
}

TEST_F(QuantizedFiles, BadZeroPointAndInputScaleValues) {
    File f = read("w8a8");
    f.tensors[std::string(kBase) + ".input_zero_point"] = f32_value(3.f);  // must be i32
    expect_error(f, {kLayer, "input_zero_point must be one i32 value"});
    f = read("w8a8");
    HostTensor z = filled(DType::i32, {1}, 0);
    static_cast<int32_t*>(z.view.data)[0] = 300;
    f.tensors[std::string(kBase) + ".input_zero_point"] = z;
    expect_error(f, {kLayer, "input zero point must be in [0, 255]"});
    f = read("w8a8");
    f.tensors[std::string(kBase) + ".input_scale"] = f32_value(-1.f);
    expect_error(f, {kLayer, "finite positive input scale"});
}

TEST_F(QuantizedFiles, UnknownScheme) {
    File f = read("w8a8");
    nlohmann::json j = f.entries();
    j[kLayer]["precision"] = "w3";
    f.set_entries(j);
    expect_error(f, {kLayer, "unknown scheme 'w3'"});
    j[kLayer]["precision"] = "bf16";  // a real precision, but not an integer scheme
    f.set_entries(j);
    expect_error(f, {kLayer, "'bf16' is not an integer scheme"});
    j[kLayer].erase("precision");
    f.set_entries(j);
    expect_error(f, {kLayer, "missing \"precision\""});
}

TEST_F(QuantizedFiles, SchemeOfTheEntryMustMatchTheData) {
    // Listed as w4 (u8, two values per byte) while the data is w8a8's i8 [768, 192].
    File f = read("w8a8");
    nlohmann::json j = f.entries();
    j[kLayer]["precision"] = "w4";
    j[kLayer]["group_size"] = 32;
    f.set_entries(j);
    expect_error(f, {kLayer, "values must be u8"});
}

TEST_F(QuantizedFiles, FloatDataWhereIntegersAreExpected) {
    File f = read("w8a8");
    f.tensors[kLayer] = HostTensor::zeros_f32({768, 192});
    expect_error(f, {kLayer, "values must be i8, got f32"});
    File g = read("w4");
    g.tensors[kLayer] = HostTensor::zeros_f32({768, 96});
    expect_error(g, {kLayer, "values must be u8 (two s4 per byte), got f32"});
    g = read("w4");
    g.tensors[std::string(kLayer) + "_scale"] = filled(DType::i8, {768, 6});
    expect_error(g, {std::string(kLayer), "scales must be f32, got i8"});
}

TEST_F(QuantizedFiles, IntegerDataWhereFloatIsExpected) {
    // A linear weight stored as integers but not listed in the metadata (the head stays float).
    File f = read("w8a8");
    f.tensors["head.weight"] = filled(DType::i8, {1000, 192});
    expect_error(f, {"head.weight", "i8", "vitrt.quantized"});
    // A LayerNorm scale and a bias stored as integers.
    f = read("w8a8");
    f.tensors["blocks.0.norm1.weight"] = filled(DType::u8, {192});
    expect_error(f, {"blocks.0.norm1.weight", "u8"});
    f = read("w4");
    f.tensors[std::string(kBase) + ".bias"] = filled(DType::i8, {768});
    expect_error(f, {std::string(kBase) + ".bias", "i8"});
}

TEST_F(QuantizedFiles, BadGroupSize) {
    for (int g : {-32, 48, 7, 0}) {
        File f = read("w4");
        nlohmann::json j = f.entries();
        j[kLayer]["group_size"] = g;
        f.set_entries(j);
        if (g == 0) {
            expect_error(f, {kLayer, "scales have shape [768, 6], expected [768]"});  // per row: [768]
        } else {
            SCOPED_TRACE(g);
            expect_error(f, {kLayer, "group"});
        }
    }
    // Per-channel schemes have no groups.
    File f = read("w8a8");
    nlohmann::json j = f.entries();
    j[kLayer]["group_size"] = 32;
    f.set_entries(j);
    expect_error(f, {kLayer, "w8a8", "per-channel", "group_size"});
}

TEST_F(QuantizedFiles, MetadataAndTensorsDisagree) {
    // in_features (K) that is not the model's.
    File f = read("w8a8");
    nlohmann::json j = f.entries();
    j[kLayer]["in_features"] = 100;
    f.set_entries(j);
    expect_error(f, {kLayer});
    // Listed, but the file has no such tensor.
    f = read("w8a8");
    j = f.entries();
    j["blocks.1.mlp.fc9.weight"] = j[kLayer];
    f.set_entries(j);
    expect_error(f, {"blocks.1.mlp.fc9.weight", "listed in the metadata but missing"});
    // Values with the wrong number of rows.
    f = read("w8a8");
    f.tensors[kLayer] = filled(DType::i8, {767, 192});
    expect_error(f, {kLayer});
    // Not JSON / not an object.
    f = read("w8a8");
    f.meta["vitrt.quantized"] = "{\"" + std::string(kLayer) + "\": ";
    expect_error(f, {"vitrt.quantized", "not JSON"});
    f.meta["vitrt.quantized"] = "[1, 2]";
    expect_error(f, {"vitrt.quantized"});
    // Missing in_features.
    f = read("w8a8");
    j = f.entries();
    j[kLayer].erase("in_features");
    f.set_entries(j);
    expect_error(f, {kLayer, "in_features"});
}

}  // namespace
}  // namespace vitrt
