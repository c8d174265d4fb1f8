// ViT checkpoints in every naming vitrt reads, checked against Debian's PyTorch (torch 1.13,
// torchvision 0.14) on seeded random weights made by tests/py/torch_reference.py (see its
// docstring for the cases and the weight recipe; no timm / transformers needed).
//
// Tolerance (all cases): max |logit - reference| <= 1e-4 * max(1, max |reference logit|).
//   Why: the logits are O(1) (max |ref| ~2-4, std ~1) and the reference's own float32 noise floor
//   (its f32 vs f64 evaluation, printed per run) is <= ~5e-6; a float32 engine that sums in another
//   order (blocked GEMMs, fused epilogues, K up to 4096) stays within a few 1e-6 of it, while a real
//   mistake (wrong q/k/v split or head count, a transposed kernel, pos_embed added to the wrong
//   tokens, the wrong LayerNorm eps or resampling kernel) moves logits by 1e-2 .. 1. The relative
//   part keeps the bound meaningful should a case ever produce larger logits. For F16/BF16
//   checkpoints the reference runs on the stored values upcast to f32, so the same bound holds.
//
// The whole binary makes every case with one python process (torch's import costs ~2 s); a
// filtered run (ctest runs one test per process) makes only the cases its tests need.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/compare.hpp"
#include "common/test_env.hpp"
#include "vitrt/vitrt.hpp"

namespace fs = std::filesystem;

namespace vitrt {
namespace {

using test::max_abs_diff;

const char* const kAllCases[] = {"tv_b16", "tv_b32",   "tv_l16", "tv_legacy", "npz_h32",  "hf_vit",
                                 "timm_res", "deit3", "reg4",   "timm_f16",  "timm_bf16"};

struct Generated {
    std::string root;       // test::temp_dir() holding one directory per case
    std::set<std::string> done;
    bool tried_all = false;
    std::string log;        // python's output, for failure messages
};

Generated& generated() {
    static Generated g;
    return g;
}

bool whole_binary() {
#ifdef GTEST_FLAG_GET
    return GTEST_FLAG_GET(filter) == "*";
#else
    return ::testing::GTEST_FLAG(filter) == "*";
#endif
}

void run_generator(const std::vector<std::string>& cases) {
    Generated& g = generated();
    if (g.root.empty()) g.root = test::temp_dir();
    std::string cmd = "'" + test::python_with_torch() + "' -W ignore '" + test::source_dir() +
                      "/tests/py/torch_reference.py' '" + g.root + "'";
    for (const auto& c : cases) cmd += " " + c;
    std::string out;
    const int rc = test::run_command(cmd, &out);
    g.log += "$ " + cmd + "\n" + out + "(exit " + std::to_string(rc) + ")\n";
    for (const char* c : kAllCases)
        if (fs::exists(fs::path(g.root) / c / "meta.json")) g.done.insert(c);
}

// The directory of a generated case ("" when the generator failed; the log says why).
std::string case_dir(const std::string& name) {
    Generated& g = generated();
    if (!g.done.count(name) && whole_binary() && !g.tried_all) {
        g.tried_all = true;
        run_generator({"all"});
    }
    if (!g.done.count(name)) run_generator({name});
    return g.done.count(name) ? (fs::path(g.root) / name).string() : std::string();
}

nlohmann::json read_json(const std::string& path) {
    std::ifstream f(path);
    return nlohmann::json::parse(f);
}

nlohmann::json case_meta(const std::string& name) {
    const std::string dir = case_dir(name);
    if (dir.empty()) return nullptr;
    return read_json(dir + "/meta.json");
}

const nlohmann::json& find_run(const nlohmann::json& meta, const std::string& run) {
    for (const auto& r : meta["runs"])
        if (r["name"] == run) return r;
    throw std::runtime_error("no run '" + run + "' in case " + meta["case"].get<std::string>());
}

double tolerance(const nlohmann::json& run) { return 1e-4 * std::max(1.0, run["max_abs_ref"].get<double>()); }

void report(const std::string& what, double diff, const nlohmann::json& run) {
    std::cout << "[ torch    ] " << what << ": max |logit diff| = " << diff << " (tolerance " << tolerance(run)
              << ", max |ref| " << run["max_abs_ref"].get<double>() << ", ref f32-vs-f64 noise "
              << run["f64_noise"].get<double>() << ")" << std::endl;
}

std::string field(const ModelInfo& info, const std::string& key) {
    for (const auto& [k, v] : info.fields)
        if (k == key) return v;
    return "(no field " + key + ")";
}
std::string preprocess_field(const ModelInfo& info, const std::string& key) {
    for (const auto& [k, v] : info.preprocess)
        if (k == key) return v;
    return "(no preprocess entry " + key + ")";
}
bool has_note(const ModelInfo& info, const std::string& part) {
    for (const auto& n : info.notes)
        if (n.find(part) != std::string::npos) return true;
    return false;
}

// Loads `model` (relative to the case dir), runs `run` on `device` and compares with torch.
// Returns the engine (for further checks) or null after a fatal failure.
std::unique_ptr<Engine> check_run(const std::string& case_name, const std::string& model, const std::string& run_name,
                                  const std::string& device, int image_size = 0) {
    const nlohmann::json meta = case_meta(case_name);
    if (meta.is_null()) {
        ADD_FAILURE() << "torch_reference.py failed to make case " << case_name << ":\n" << generated().log;
        return nullptr;
    }
    const std::string dir = case_dir(case_name);
    const nlohmann::json& run = find_run(meta, run_name);
    EngineOptions o;
    o.device = device;
    o.image_size = image_size;
    std::unique_ptr<Engine> engine;
    try {
        engine = Engine::load(dir + "/" + model, o);
    } catch (const std::exception& e) {
        ADD_FAILURE() << case_name << "/" << model << ": load failed: " << e.what();
        return nullptr;
    }
    const int S = run["image_size"].get<int>(), B = run["batch"].get<int>();
    EXPECT_EQ(engine->input_height(), S);
    EXPECT_EQ(engine->input_width(), S);
    EXPECT_EQ(engine->num_classes(), run["classes"].get<int>());
    const auto input = test::read_f32(dir + "/" + run["input"].get<std::string>());
    const auto expected = test::read_f32(dir + "/" + run["expected"].get<std::string>());
    if (input.size() != size_t(B) * engine->input_size()) {
        ADD_FAILURE() << case_name << ": input has " << input.size() << " floats, engine wants " << B << " x "
                      << engine->input_size();
        return engine;
    }
    const auto logits = engine->run(input.data(), B);
    const double diff = max_abs_diff(logits, expected);
    report(case_name + " " + model + " @" + std::to_string(S) + " (" + device + ")", diff, run);
    EXPECT_LE(diff, tolerance(run)) << case_name << " " << model << " run " << run_name << " on " << device;
    return engine;
}

// ---------------------------------------------------------------------------------------------
// 1. torchvision VisionTransformer state_dicts (torchvision's key names).

class Torchvision : public ::testing::TestWithParam<std::tuple<std::string, int, int, int>> {};

TEST_P(Torchvision, LogitsMatchTorchvision) {
    VITRT_REQUIRE_TORCH();
    const auto& [name, dim, heads, patch] = GetParam();
    auto engine = check_run(name, "model.safetensors", "224", "cpu");
    ASSERT_TRUE(engine);
    const ModelInfo& info = engine->info();
    EXPECT_EQ(info.source_format, "torchvision safetensors");
    EXPECT_EQ(field(info, "embed_dim"), std::to_string(dim));
    EXPECT_EQ(field(info, "depth"), "2");
    EXPECT_EQ(field(info, "heads"), std::to_string(heads) + " x " + std::to_string(dim / heads));
    EXPECT_EQ(field(info, "patch"), std::to_string(patch));
    EXPECT_EQ(field(info, "pooling"), "token");
}

INSTANTIATE_TEST_SUITE_P(Torch, Torchvision,
                         ::testing::Values(std::make_tuple("tv_b16", 768, 12, 16), std::make_tuple("tv_b32", 768, 12, 32),
                                           std::make_tuple("tv_l16", 1024, 16, 16)),
                         [](const auto& info) { return std::get<0>(info.param); });

// Pre-0.13 torchvision MLP names (mlp.linear_1/2) under a DataParallel "module." prefix.
TEST(TorchvisionLegacy, OldMlpNamesAndModulePrefix) {
    VITRT_REQUIRE_TORCH();
    auto engine = check_run("tv_legacy", "model.safetensors", "224", "cpu");
    ASSERT_TRUE(engine);
    EXPECT_EQ(engine->info().source_format, "torchvision safetensors");
    EXPECT_EQ(field(engine->info(), "heads"), "4 x 64");
}

// ---------------------------------------------------------------------------------------------
// 2. Google AugReg .npz (the tv_b16 model's weights under Google's names; expected = torchvision).

TEST(GoogleNpz, VitB16MatchesTorchvisionModel) {
    VITRT_REQUIRE_TORCH();
    auto engine = check_run("tv_b16", "model.npz", "224", "cpu");
    ASSERT_TRUE(engine);
    EXPECT_EQ(engine->info().source_format, "google npz npz");
    EXPECT_EQ(field(engine->info(), "heads"), "12 x 64");
}

// 8 heads of 32 at width 256: the head count has to come from the q kernel [D, H, hd].
TEST(GoogleNpz, HeadCountFromKernelShape) {
    VITRT_REQUIRE_TORCH();
    for (const char* device : {"cpu", "ref"}) {
        auto engine = check_run("npz_h32", "model.npz", "224", device);
        ASSERT_TRUE(engine);
        EXPECT_EQ(field(engine->info(), "heads"), "8 x 32");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. transformers ViTForImageClassification directory.

TEST(Transformers, VitForImageClassificationDirectory) {
    VITRT_REQUIRE_TORCH();
    for (const char* device : {"cpu", "ref"}) {
        auto engine = check_run("hf_vit", ".", "224", device);
        ASSERT_TRUE(engine);
        const ModelInfo& info = engine->info();
        EXPECT_EQ(info.source_format, "transformers safetensors");
        EXPECT_EQ(field(info, "heads"), "6 x 32");  // from config.json, not width / 64
        EXPECT_EQ(field(info, "layernorm_eps"), "1e-12");
        const auto meta = case_meta("hf_vit");
        EXPECT_EQ(engine->labels(), meta["labels"].get<std::vector<std::string>>());
        EXPECT_EQ(preprocess_field(info, "input_size"), "224x224");
        const std::string resize = preprocess_field(info, "resize");
        EXPECT_NE(resize.find("bilinear"), std::string::npos) << resize;
        EXPECT_NE(resize.find("squash"), std::string::npos) << resize;
        EXPECT_EQ(preprocess_field(info, "mean"), "(0.5, 0.5, 0.5)");
        EXPECT_EQ(preprocess_field(info, "std"), "(0.5, 0.5, 0.5)");
        // top_k names the config's classes.
        std::vector<float> one(size_t(engine->num_classes()), 0.f);
        one[3] = 5.f;
        const auto top = engine->top_k(one.data(), 1);
        ASSERT_EQ(top.size(), 1u);
        EXPECT_EQ(top[0].label, "goldfish");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Another resolution: pos_embed resampled as timm's resample_abs_pos_embed.

TEST(TimmResolution, TrainedAt224RunAt384And160) {
    VITRT_REQUIRE_TORCH();
    auto same = check_run("timm_res", "model.safetensors", "224", "cpu");
    ASSERT_TRUE(same);
    EXPECT_EQ(same->info().architecture, "vit_tiny_patch16_224");
    EXPECT_FALSE(has_note(same->info(), "resampled"));
    for (int size : {384, 160}) {
        auto engine = check_run("timm_res", "model.safetensors", std::to_string(size), "cpu", size);
        ASSERT_TRUE(engine);
        EXPECT_EQ(field(engine->info(), "checkpoint_resolution"), "224x224");
        EXPECT_EQ(field(engine->info(), "resolution"), std::to_string(size) + "x" + std::to_string(size));
        EXPECT_TRUE(has_note(engine->info(), "resampled")) << size;
    }
    check_run("timm_res", "model.safetensors", "160", "ref", 160);
}

// ---------------------------------------------------------------------------------------------
// 5. DeiT-3 (no_embed_class + LayerScale) and registers (no cls, avg pool, fc_norm).

TEST(TimmVariants, Deit3NoEmbedClassLayerScale) {
    VITRT_REQUIRE_TORCH();
    auto engine = check_run("deit3", "model.safetensors", "224", "cpu");
    ASSERT_TRUE(engine);
    EXPECT_EQ(field(engine->info(), "pos_embed"), "patches only (no_embed_class)");
    EXPECT_EQ(field(engine->info(), "layer_scale"), "yes");
    check_run("deit3", "model.safetensors", "288", "cpu", 288);
}

TEST(TimmVariants, RegistersAvgPoolFcNorm) {
    VITRT_REQUIRE_TORCH();
    auto engine = check_run("reg4", "model.safetensors", "256", "cpu");
    ASSERT_TRUE(engine);
    EXPECT_EQ(field(engine->info(), "prefix_tokens"), "4 reg");
    EXPECT_EQ(field(engine->info(), "pooling"), "avg");
    EXPECT_EQ(field(engine->info(), "norms"), "fc_norm");
    check_run("reg4", "model.safetensors", "224", "cpu", 224);
}

// ---------------------------------------------------------------------------------------------
// 6. F16 / BF16 storage, converted at load.

TEST(HalfStorage, F16AndBf16Safetensors) {
    VITRT_REQUIRE_TORCH();
    for (const auto& [name, dtype] : {std::pair{"timm_f16", "f16"}, std::pair{"timm_bf16", "bf16"}}) {
        auto engine = check_run(name, "model.safetensors", "224", "cpu");
        ASSERT_TRUE(engine);
        EXPECT_EQ(engine->info().storage_dtype, dtype);
    }
}

// ---------------------------------------------------------------------------------------------
// CLI: vitrt forward / vitrt info --json.

std::string quote(const std::string& s) { return "'" + s + "'"; }

TEST(Cli, ForwardMatchesTorch) {
    VITRT_REQUIRE_TORCH();
    for (const auto& [name, run_name, size] : {std::tuple{"tv_b32", "224", 0}, std::tuple{"timm_res", "384", 384}}) {
        const nlohmann::json meta = case_meta(name);
        ASSERT_FALSE(meta.is_null()) << generated().log;
        const std::string dir = case_dir(name);
        const auto& run = find_run(meta, run_name);
        const std::string out = test::temp_dir() + "/logits.f32";
        std::string cmd = quote(test::cli_path()) + " forward --model " + quote(dir + "/model.safetensors") + " --input " +
                          quote(dir + "/" + run["input"].get<std::string>()) + " --batch " +
                          std::to_string(run["batch"].get<int>()) + " --output " + quote(out);
        if (size) cmd += " --image-size " + std::to_string(size);
        std::string log;
        ASSERT_EQ(test::run_command(cmd, &log), 0) << cmd << "\n" << log;
        const auto logits = test::read_f32(out);
        const auto expected = test::read_f32(dir + "/" + run["expected"].get<std::string>());
        ASSERT_EQ(logits.size(), expected.size());
        const double diff = max_abs_diff(logits, expected);
        report(std::string("vitrt forward ") + name + " @" + run_name, diff, run);
        EXPECT_LE(diff, tolerance(run));
    }
}

TEST(Cli, InfoJson) {
    VITRT_REQUIRE_TORCH();
    {
        const std::string dir = case_dir("tv_b32");
        ASSERT_FALSE(dir.empty()) << generated().log;
        std::string out;
        const std::string cmd = quote(test::cli_path()) + " info --json --model " + quote(dir + "/model.safetensors");
        ASSERT_EQ(test::run_command(cmd, &out), 0) << cmd << "\n" << out;
        nlohmann::json j;
        ASSERT_NO_THROW(j = nlohmann::json::parse(out)) << out;
        EXPECT_EQ(j["family"], "vit");
        EXPECT_EQ(j["format"], "torchvision safetensors");
        EXPECT_EQ(j["dtype"], "f32");
        EXPECT_EQ(j["embed_dim"], "768");
        EXPECT_EQ(j["depth"], "2");
        EXPECT_EQ(j["heads"], "12 x 64");
        EXPECT_EQ(j["patch"], "32");
        EXPECT_EQ(j["resolution"], "224x224");
        EXPECT_EQ(j["classes"], "1000");
        // conv 768*3*32*32 + 768, cls 768, pos 50*768, 2 x (4*768^2 + 2*768*3072 + 9*768 + 3072),
        // ln 2*768, head 768*1000 + 1000
        const long long D = 768, M = 3072;
        const long long params = D * 3 * 32 * 32 + D + D + 50 * D + 2 * (4 * D * D + 2 * D * M + 9 * D + M) + 2 * D +
                                 D * 1000 + 1000;
        EXPECT_EQ(j["parameters"].get<long long>(), params);
        EXPECT_TRUE(j["preprocess"].is_object());
        EXPECT_TRUE(j["notes"].is_array());
    }
    {
        const std::string dir = case_dir("timm_res");
        ASSERT_FALSE(dir.empty()) << generated().log;
        std::string out;
        const std::string cmd =
            quote(test::cli_path()) + " info --json --image-size 384 --model " + quote(dir + "/model.safetensors");
        ASSERT_EQ(test::run_command(cmd, &out), 0) << cmd << "\n" << out;
        nlohmann::json j;
        ASSERT_NO_THROW(j = nlohmann::json::parse(out)) << out;
        EXPECT_EQ(j["architecture"], "vit_tiny_patch16_224");
        EXPECT_EQ(j["format"], "timm safetensors");
        EXPECT_EQ(j["depth"], "2");
        EXPECT_EQ(j["heads"], "3 x 64");
        EXPECT_EQ(j["checkpoint_resolution"], "224x224");
        EXPECT_EQ(j["resolution"], "384x384");
        EXPECT_EQ(j["preprocess"]["input_size"], "384x384");
        bool resampled = false;
        for (const auto& n : j["notes"]) resampled = resampled || n.get<std::string>().find("resampled") != std::string::npos;
        EXPECT_TRUE(resampled) << j.dump();
    }
}

}  // namespace
}  // namespace vitrt
