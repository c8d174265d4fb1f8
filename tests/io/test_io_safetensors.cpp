// safetensors reader/writer: real timm checkpoints, round trips, 16-bit dtypes, and one test per
// class of malformed file (each must be a vitrt::Error naming the file, never a crash).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/test_env.hpp"
#include "io/checkpoint.hpp"
#include "common/io_files.hpp"

namespace fs = std::filesystem;
using namespace vitrt;
using namespace vitrt::test::io;

namespace {

std::string real_model() {
    return test::shared_data() +
           "/models/vit_tiny_patch16_224/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors";
}

// Every tensor's bytes equal the file's bytes at the header's offsets, found independently.
void expect_matches_file(const Checkpoint& ck, const std::string& path) {
    const std::string bytes = read_bytes(path);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    const auto header = nlohmann::json::parse(bytes.substr(8, n));
    for (const auto& [name, v] : header.items()) {
        if (name == "__metadata__") continue;
        ASSERT_TRUE(ck.has(name)) << name;
        const HostTensor& t = ck.get(name);
        const Shape shape(v["shape"].get<std::vector<int64_t>>());
        EXPECT_EQ(t.shape(), shape) << name;
        const uint64_t b = v["data_offsets"][0], e = v["data_offsets"][1];
        ASSERT_EQ(t.view.nbytes(), e - b) << name;
        EXPECT_EQ(0, std::memcmp(t.view.data, bytes.data() + 8 + n + b, e - b)) << name;
    }
}

// Loads bytes written to a temp file; returns the error message, or "" when it loaded.
std::string load_error(const std::string& bytes, const std::string& fname = "bad.safetensors") {
    const std::string path = test::temp_dir() + "/" + fname;
    write_bytes(path, bytes);
    try {
        load_safetensors(path);
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(fname), std::string::npos) << "message must name the file: " << msg;
        return msg;
    }
    return "";
}

std::string floats(std::initializer_list<float> v) {
    return std::string(reinterpret_cast<const char*>(v.begin()), v.size() * 4);
}

// A valid header for one F32 tensor "w" of shape [2, 2] at [0, 16] (plus `extra` entries).
std::string one_tensor(const std::string& w, const std::string& extra = "") {
    return "{\"w\":" + w + extra + "}";
}

}  // namespace

TEST(IoSafetensors, RealVitTinyLoads) {
    VITRT_REQUIRE_SHARED_DATA();
    const Checkpoint ck = load_safetensors(real_model());
    EXPECT_EQ(ck.format, "safetensors");
    EXPECT_EQ(ck.tensors.size(), 152u);
    EXPECT_TRUE(ck.skipped.empty());
    EXPECT_EQ(ck.get("pos_embed").shape(), (Shape{1, 197, 192}));
    EXPECT_EQ(ck.get("cls_token").shape(), (Shape{1, 1, 192}));
    EXPECT_EQ(ck.get("patch_embed.proj.weight").shape(), (Shape{192, 3, 16, 16}));
    EXPECT_EQ(ck.get("blocks.11.attn.qkv.weight").shape(), (Shape{576, 192}));
    EXPECT_EQ(ck.get("blocks.0.mlp.fc1.weight").shape(), (Shape{768, 192}));
    EXPECT_EQ(ck.get("head.weight").shape(), (Shape{1000, 192}));
    EXPECT_EQ(ck.get("norm.bias").shape(), (Shape{192}));
    EXPECT_EQ(ck.metadata.at("format"), "pt");
    for (const auto& [name, t] : ck.tensors) {
        EXPECT_EQ(t.view.dtype, DType::f32) << name;
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t.view.data) % 4, 0u) << name;
    }
    expect_matches_file(ck, real_model());
}

TEST(IoSafetensors, TimmFixturesLoad) {
    VITRT_REQUIRE_SHARED_DATA();
    int files = 0;
    for (const auto& dir : fs::directory_iterator(test::shared_data() + "/reference")) {
        if (!dir.is_directory()) continue;
        for (const auto& f : fs::directory_iterator(dir.path())) {
            if (f.path().extension() != ".safetensors") continue;
            SCOPED_TRACE(f.path().string());
            const Checkpoint ck = load_safetensors(f.path().string());
            EXPECT_GT(ck.tensors.size(), 10u);
            EXPECT_EQ(ck.metadata.at("model"), dir.path().filename().string());
            expect_matches_file(ck, f.path().string());
            ++files;
        }
    }
    EXPECT_GE(files, 6);
}

TEST(IoSafetensors, RoundTripAllDtypes) {
    std::map<std::string, HostTensor> ts;
    HostTensor a = HostTensor::zeros_f32({3, 5});
    for (int i = 0; i < 15; ++i) a.mutable_f32()[i] = float(i) * 0.25f - 1.0f;
    ts["blocks.0.attn.qkv.weight"] = a;
    HostTensor s = HostTensor::zeros_f32({});
    s.mutable_f32()[0] = 42.0f;
    ts["scalar"] = s;
    ts["empty"] = HostTensor::zeros_f32({0, 4});
    // 16-bit tensors with an odd element count: the writer must keep the f32 ones aligned.
    auto h16 = std::make_shared<std::vector<uint16_t>>(std::vector<uint16_t>{0x3c00, 0xc000, 0x7bff});
    ts["a_half"] = HostTensor::borrowed(Tensor{h16->data(), DType::f16, {3}, nullptr}, h16);
    auto b16 = std::make_shared<std::vector<uint16_t>>(
        std::vector<uint16_t>{f32_to_bf16(1.5f), f32_to_bf16(-2.0f), f32_to_bf16(1e30f)});
    ts["b_bf16"] = HostTensor::borrowed(Tensor{b16->data(), DType::bf16, {1, 3}, nullptr}, b16);

    const std::string path = test::temp_dir() + "/rt.safetensors";
    save_safetensors(path, ts, {{"format", "pt"}, {"note", "ünïcode ok"}});
    const std::string bytes = read_bytes(path);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    EXPECT_EQ(n % 8, 0u) << "header must be padded to 8 bytes";
    EXPECT_FALSE(fs::exists(path + ".tmp." + std::to_string(::getpid())));

    const Checkpoint ck = load_safetensors(path);
    EXPECT_EQ(ck.metadata.at("note"), "ünïcode ok");
    ASSERT_EQ(ck.tensors.size(), ts.size());
    for (const auto& [name, t] : ts) {
        const HostTensor& r = ck.get(name);
        EXPECT_EQ(r.view.dtype, t.view.dtype) << name;
        EXPECT_EQ(r.shape(), t.shape()) << name;
        ASSERT_EQ(r.view.nbytes(), t.view.nbytes()) << name;
        EXPECT_EQ(0, std::memcmp(r.view.data, t.view.data, t.view.nbytes())) << name;
        // Every view into the mapping is aligned for its dtype (zero-copy stays valid).
        EXPECT_EQ(reinterpret_cast<uintptr_t>(r.view.data) % dtype_size(r.view.dtype), 0u) << name;
    }
}

TEST(IoSafetensors, HandBuiltF16AndBf16) {
    // f16: 1, -2, 65504, 2^-24 (smallest subnormal); bf16: 1.5, -0.5, inf
    std::vector<uint16_t> h = {0x3c00, 0xc000, 0x7bff, 0x0001};
    std::vector<uint16_t> b = {0x3fc0, 0xbf00, 0x7f80};
    const std::string header =
        "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[8,14]}}";
    const std::string path = test::temp_dir() + "/half.safetensors";
    write_bytes(path, safetensors_bytes(header, raw(h) + raw(b)));
    const Checkpoint ck = load_safetensors(path);
    const HostTensor& th = ck.get("h");
    ASSERT_EQ(th.view.dtype, DType::f16);
    EXPECT_EQ(th.shape(), (Shape{2, 2}));
    const HostTensor fh = to_f32(th);
    EXPECT_EQ(fh.f32()[0], 1.0f);
    EXPECT_EQ(fh.f32()[1], -2.0f);
    EXPECT_EQ(fh.f32()[2], 65504.0f);
    EXPECT_EQ(fh.f32()[3], std::ldexp(1.0f, -24));
    const HostTensor fb = to_f32(ck.get("b"));
    ASSERT_EQ(ck.get("b").view.dtype, DType::bf16);
    EXPECT_EQ(fb.f32()[0], 1.5f);
    EXPECT_EQ(fb.f32()[1], -0.5f);
    EXPECT_TRUE(std::isinf(fb.f32()[2]));
}

TEST(IoSafetensors, UnalignedDataIsCopiedAligned) {
    // An unpadded 45-byte header puts the data section at offset 53: every f32 view would be
    // misaligned, so the reader must copy (and the values must survive).
    const std::string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}";
    ASSERT_NE((8 + header.size()) % 4, 0u);
    const std::string path = test::temp_dir() + "/unaligned.safetensors";
    write_bytes(path, safetensors_bytes(header, floats({1.f, -2.f, 3.5f}), /*pad=*/false));
    const Checkpoint ck = load_safetensors(path);
    const HostTensor& w = ck.get("w");
    EXPECT_EQ(reinterpret_cast<uintptr_t>(w.view.data) % 4, 0u);
    EXPECT_EQ(w.f32()[0], 1.f);
    EXPECT_EQ(w.f32()[1], -2.f);
    EXPECT_EQ(w.f32()[2], 3.5f);
}

// I8 / U8 / I32 tensors load (quantized checkpoints store weights, scales' zero points in them);
// other integer and bool tensors are skipped and remembered.
TEST(IoSafetensors, OtherIntegerTensorsAreSkippedAndRemembered) {
    const std::string header =
        "{\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]},"
        "\"ids\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[16,20]}}";
    const std::string path = test::temp_dir() + "/bn.safetensors";
    write_bytes(path, safetensors_bytes(header, floats({1.f, 2.f}) + std::string(12, '\0')));
    const Checkpoint ck = load_safetensors(path);
    EXPECT_EQ(ck.tensors.size(), 2u);
    EXPECT_TRUE(ck.has("bn.weight"));
    ASSERT_TRUE(ck.has("ids"));
    EXPECT_EQ(ck.get("ids").view.dtype, DType::i32);
    EXPECT_FALSE(ck.has("bn.num_batches_tracked"));
    EXPECT_EQ(ck.skipped, (std::vector<std::string>{"bn.num_batches_tracked"}));
    // Skipped tensors are still validated: a bad I64 entry fails the file.
    const std::string bad =
        "{\"n\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    EXPECT_NE(load_error(safetensors_bytes(bad, std::string(8, '\0'))), "");
}

TEST(IoSafetensors, TensorOutlivesCheckpoint) {
    const std::string path = test::temp_dir() + "/life.safetensors";
    write_bytes(path, safetensors_bytes(
                          "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                          floats({5.f, 6.f})));
    HostTensor w;
    {
        const Checkpoint ck = load_safetensors(path);
        w = ck.get("w");
    }
    EXPECT_EQ(w.f32()[1], 6.f);
}

TEST(IoSafetensors, MissingKeyAndFileAreErrors) {
    const std::string path = test::temp_dir() + "/k.safetensors";
    write_bytes(path, safetensors_bytes(
                          "{\"module.head.weight\":{\"dtype\":\"F32\",\"shape\":[1],"
                          "\"data_offsets\":[0,4]}}",
                          floats({1.f})));
    const Checkpoint ck = load_safetensors(path);
    try {
        ck.get("head.weight");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("'head.weight'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("module.head.weight"), std::string::npos) << msg;
    }
    EXPECT_THROW(load_safetensors(test::temp_dir() + "/does_not_exist.safetensors"), Error);
    EXPECT_THROW(load_safetensors(test::temp_dir()), Error);  // a directory
}

TEST(IoSafetensors, LoadCheckpointSniffsFormat) {
    const std::string path = test::temp_dir() + "/weights.bin";
    write_bytes(path, safetensors_bytes(
                          "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                          floats({1.f})));
    EXPECT_EQ(load_checkpoint(path).format, "safetensors");
}

TEST(IoSafetensors, MalformedHeaderLevel) {
    const std::string good = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    const std::string data = floats({1.f, 2.f});
    EXPECT_EQ(load_error(safetensors_bytes(good, data)), "");  // the baseline loads

    EXPECT_NE(load_error(""), "");
    EXPECT_NE(load_error(std::string(7, '\x10')), "");
    std::string huge;
    put_le(huge, uint64_t(1) << 62, 8);
    EXPECT_NE(load_error(huge + good + data).find("absurd"), std::string::npos);
    std::string beyond;
    put_le(beyond, 4096, 8);
    EXPECT_NE(load_error(beyond + good + data).find("exceeds"), std::string::npos);
    EXPECT_NE(load_error(safetensors_bytes("{\"w\": {", data)).find("JSON"), std::string::npos);
    EXPECT_NE(load_error(safetensors_bytes("", data)), "");
    EXPECT_NE(load_error(safetensors_bytes("[1, 2]", data)), "");
    EXPECT_NE(load_error(safetensors_bytes("{\"w\x80\xff\":1}", data)), "");  // invalid UTF-8
    EXPECT_NE(load_error(safetensors_bytes("{\"w\":[1]}", data)), "");
    EXPECT_NE(load_error(safetensors_bytes(good.substr(0, good.size() - 1) + ",\"w\":" +
                                               good.substr(5),
                                           data))
                  .find("more than once"),
              std::string::npos);
    EXPECT_NE(load_error(safetensors_bytes(
                  one_tensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",
                             ",\"__metadata__\":[1]"),
                  data)),
              "");
    EXPECT_NE(load_error(safetensors_bytes(
                  one_tensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",
                             ",\"__metadata__\":{\"a\":1}"),
                  data)),
              "");
    // Header padded with NULs instead of spaces is not JSON.
    std::string nul_padded;
    put_le(nul_padded, good.size() + 3, 8);
    EXPECT_NE(load_error(nul_padded + good + std::string(3, '\0') + data), "");
}

TEST(IoSafetensors, MalformedEntries) {
    const std::string data = floats({1.f, 2.f, 3.f, 4.f});
    auto err = [&](const std::string& w, const std::string& d) {
        return load_error(safetensors_bytes(one_tensor(w), d));
    };
    auto has = [](const std::string& msg, const std::string& part) {
        return msg.find(part) != std::string::npos;
    };
    // Each message names the tensor.
    EXPECT_TRUE(has(err("{\"shape\":[2],\"data_offsets\":[0,8]}", data), "'w'"));
    EXPECT_TRUE(has(err("{\"dtype\":\"F32\",\"data_offsets\":[0,8]}", data), "shape"));
    EXPECT_TRUE(has(err("{\"dtype\":\"F32\",\"shape\":[2]}", data), "data_offsets"));
    EXPECT_TRUE(has(err("{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}", data),
                    "negative"));
    EXPECT_NE(err("{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}", data), "");
    EXPECT_NE(err("{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}", data), "");
    EXPECT_NE(err("{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}", data), "");
    EXPECT_NE(err("{\"dtype\":\"F32\",\"shape\":[18446744073709551615],\"data_offsets\":[0,8]}",
                  data),
              "");
    EXPECT_NE(err("{\"dtype\":\"F32\",\"shape\":[1e400],\"data_offsets\":[0,8]}", data), "");
    // numel overflow, and numel fine but bytes overflow.
    EXPECT_NE(err("{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],"
                  "\"data_offsets\":[0,8]}",
                  data),
              "");
    EXPECT_NE(err("{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}",
                  data),
              "");
    EXPECT_NE(err("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}", data), "");
    EXPECT_NE(err("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}", data), "");
    EXPECT_NE(err("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}", data), "");
    EXPECT_NE(err("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.5]}", data), "");
    const std::string beyond = err("{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}", data);
    EXPECT_TRUE(has(beyond, "exceed the data section")) << beyond;
    EXPECT_TRUE(has(beyond, "truncated")) << beyond;
    EXPECT_TRUE(has(err("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}", data),
                    "needs 12"));
    const std::string dt = err("{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}", data);
    EXPECT_TRUE(has(dt, "F64") && has(dt, "F32, F16, BF16")) << dt;
    EXPECT_NE(err("{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}", data), "");
    EXPECT_NE(err("{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}", data), "");
}

TEST(IoSafetensors, OverlapAndTruncation) {
    const std::string data = floats({1.f, 2.f, 3.f, 4.f});
    const std::string overlap =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    EXPECT_NE(load_error(safetensors_bytes(overlap, data)).find("overlap"), std::string::npos);
    // Adjacent and empty tensors are fine, even an empty one "inside" another's range.
    const std::string adjacent =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
    EXPECT_EQ(load_error(safetensors_bytes(adjacent, data)), "");
    // The same file cut anywhere inside its data section.
    const std::string full = safetensors_bytes(adjacent, data);
    for (size_t cut = 1; cut <= 16; cut += 3)
        EXPECT_NE(load_error(full.substr(0, full.size() - cut)), "") << cut;
    // Cut inside the header.
    EXPECT_NE(load_error(full.substr(0, 20)), "");
}
