// FastViT against timm (random-weight fixtures in ../shared/data/reference/fastvit_t8 and
// fastvit_sa12, made by timm 1.0.28 in float32; see that folder's README): logits from both
// checkpoint forms on both backends, fastvit_t8 stage by stage, `vitrt info`, malformed
// and malformed checkpoints (steady-state allocation: tests/test_steady_state_alloc.cpp).
//
// Tolerances:
//   logits (O(1), std 0.29):              max |logit - logits.bin| <= 1e-4 (issue 3). timm's own
//                                         float32-vs-float64 noise is 4.2e-7, its unfused-vs-reparam
//                                         difference 4.5e-7.
//   fastvit_t8 stage outputs (NCHW, up to |20|): max |x - ref| <= 2e-5 * max(1, max |ref|),
//                                         i.e. <= 4e-4 absolute at stage 0. timm's own reparam form
//                                         differs from these unfused references by <= 1.1e-5 and an
//                                         independent float64 port by <= 7.9e-6 (meta.json);
//                                         measured here: see the "[ stage ]" lines (<= 1.4e-5).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/compare.hpp"
#include "common/load_error.hpp"
#include "common/test_env.hpp"
#include "core/arena.hpp"
#include "engine/backend_factory.hpp"
#include "io/checkpoint.hpp"
#include "models/fastvit.hpp"
#include "load/load.hpp"
#include "vitrt/vitrt.hpp"

namespace fs = std::filesystem;

namespace vitrt {
namespace {

using test::max_abs_diff;

std::string fixture(const std::string& name) { return test::shared_data() + "/reference/" + name; }

// --- logits: 2 fixtures x 2 checkpoint forms x 2 backends ---------------------------------------

class FastVitLogits : public ::testing::TestWithParam<std::tuple<std::string, std::string, std::string>> {};

TEST_P(FastVitLogits, MatchTimm) {
    VITRT_REQUIRE_SHARED_DATA();
    const auto& [name, file, device] = GetParam();
    EngineOptions o;
    o.device = device;
    auto engine = Engine::load(fixture(name) + "/" + file, o);
    EXPECT_EQ(engine->info().family, "fastvit");
    EXPECT_EQ(engine->info().architecture, name);
    const auto input = test::read_f32(fixture(name) + "/input.bin");
    const auto expected = test::read_f32(fixture(name) + "/logits.bin");
    const int batch = int(input.size() / engine->input_size());
    ASSERT_EQ(batch, 2);
    const auto logits = engine->run(input.data(), batch);
    const double diff = max_abs_diff(logits, expected);
    std::cout << "[ fixture  ] " << name << " " << file << " (" << device << "): max |logit diff| = " << diff << "\n";
    EXPECT_LE(diff, 1e-4);
    // Batch 1 gives the same numbers as batch 2 (plans per batch size).
    const auto one = engine->run(input.data() + engine->input_size(), 1);
    for (int k = 0; k < engine->num_classes(); ++k)
        ASSERT_NEAR(one[size_t(k)], logits[size_t(engine->num_classes() + k)], 2e-5) << k;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FastVitLogits,
                         ::testing::Combine(::testing::Values("fastvit_t8", "fastvit_sa12"),
                                            ::testing::Values("model.safetensors", "model_reparam.safetensors"),
                                            ::testing::Values("cpu", "ref")),
                         [](const auto& info) {
                             std::string f = std::get<1>(info.param) == "model.safetensors" ? "unfused" : "reparam";
                             return std::get<0>(info.param) + "_" + f + "_" + std::get<2>(info.param);
                         });

// --- fastvit_t8 stage by stage ------------------------------------------------------------------

// Runs a loaded model once on `input` with the stage hook on; returns each stage as NCHW.
std::map<std::string, std::vector<float>> run_stages(Ops& ops, Model& model, const std::vector<float>& input, int B) {
    std::map<std::string, std::vector<float>> out;
    EXPECT_TRUE(set_fastvit_stage_hook(model, [&](const std::string& name, int64_t first, const Tensor& t) {
        const int64_t H = t.dim(1), W = t.dim(2), C = t.dim(3);
        std::vector<float> nhwc(size_t(t.numel()));
        ops.download(nhwc.data(), t.data, t.nbytes());
        std::vector<float>& nchw = out[name];
        nchw.resize(size_t(B * H * W * C));
        for (int64_t b = 0; b < t.dim(0); ++b)
            for (int64_t i = 0; i < H * W; ++i)
                for (int64_t c = 0; c < C; ++c)
                    nchw[size_t(((first + b) * C + c) * H * W + i)] = nhwc[size_t((b * H * W + i) * C + c)];
    }));
    Tensor in, logits;
    in.shape = {B, 3, model.input_height(), model.input_width()};
    logits.shape = {B, model.num_classes()};
    auto in_mem = ops.allocate(in.nbytes()), out_mem = ops.allocate(logits.nbytes());
    in.data = in_mem.get(), logits.data = out_mem.get();
    ops.upload(in.data, input.data(), in.nbytes());
    Arena arena;
    arena.reset(nullptr);
    model.forward(ops, arena, in, logits);
    auto mem = ops.allocate(arena.used());
    arena.reset(mem.get(), arena.used());
    model.forward(ops, arena, in, logits);
    ops.synchronize();
    set_fastvit_stage_hook(model, nullptr);
    return out;
}

class FastVitStages : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(FastVitStages, T8MatchesTimmStageByStage) {
    VITRT_REQUIRE_SHARED_DATA();
    const auto& [file, device] = GetParam();
    auto ops = make_backend(device);
    LoadedModel m = load_model(fixture("fastvit_t8") + "/" + file, *ops, {});
    const auto input = test::read_f32(fixture("fastvit_t8") + "/input.bin");
    const auto stages = run_stages(*ops, *m.model, input, 2);
    for (const char* name : {"stem", "stage0", "stage1", "stage2", "stage3", "final_conv"}) {
        ASSERT_TRUE(stages.count(name)) << name;
        const auto ref = test::read_f32(fixture("fastvit_t8") + "/" + name + ".bin");
        double peak = 1;
        for (float v : ref) peak = std::max(peak, double(std::fabs(v)));
        const double diff = max_abs_diff(stages.at(name), ref);
        std::cout << "[ stage    ] fastvit_t8 " << file << " (" << device << ") " << name << ": max |diff| = " << diff
                  << " (max |ref| = " << peak << ")\n";
        EXPECT_LE(diff, 2e-5 * peak) << name << ": the first stage over tolerance is where the bug is";
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FastVitStages,
                         ::testing::Combine(::testing::Values("model.safetensors", "model_reparam.safetensors"),
                                            ::testing::Values("cpu", "ref")),
                         [](const auto& info) {
                             return std::string(std::get<0>(info.param) == "model.safetensors" ? "unfused" : "reparam") +
                                    "_" + std::get<1>(info.param);
                         });

// --- what `vitrt info` reports ------------------------------------------------------------------

std::string field(const ModelInfo& i, const std::string& key) {
    for (const auto& [k, v] : i.fields)
        if (k == key) return v;
    return "<missing " + key + ">";
}

TEST(FastVitInfo, DescribesFormConfigAndPreprocessing) {
    VITRT_REQUIRE_SHARED_DATA();
    auto e = Engine::load(fixture("fastvit_sa12") + "/model.safetensors");
    const ModelInfo& i = e->info();
    EXPECT_EQ(i.architecture, "fastvit_sa12");
    EXPECT_EQ(field(i, "checkpoint_form"), "unfused (train-time)");
    EXPECT_EQ(field(i, "layers"), "1, 1, 1, 1");
    EXPECT_EQ(field(i, "embed_dims"), "32, 64, 128, 256");
    EXPECT_EQ(field(i, "mlp_ratios"), "4, 4, 4, 4");
    EXPECT_EQ(field(i, "token_mixers"), "repmixer, repmixer, repmixer, attention");
    EXPECT_EQ(field(i, "pos_embed"), "none, none, none, RepCPE 7x7");
    EXPECT_EQ(field(i, "attention"), "8 heads x 32 (last stage: 64 tokens)");
    EXPECT_EQ(field(i, "folded_batchnorms"), "37");
    ASSERT_FALSE(i.notes.empty());
    EXPECT_NE(i.notes[0].find("unfused (train-time) form"), std::string::npos) << i.notes[0];
    EXPECT_NE(i.notes[0].find("1 AttentionBlock.norm into qkv"), std::string::npos) << i.notes[0];
    EXPECT_GT(i.flops, 1e8);
    const std::vector<std::pair<std::string, std::string>> pre = {
        {"input_size", "256x256"},
        {"resize", "bicubic (PIL), crop_pct 0.9, crop_mode center"},
        {"mean", "(0.485, 0.456, 0.406)"},
        {"std", "(0.229, 0.224, 0.225)"},
    };
    EXPECT_EQ(i.preprocess, pre);

    auto r = Engine::load(fixture("fastvit_sa12") + "/model_reparam.safetensors");
    EXPECT_EQ(field(r->info(), "checkpoint_form"), "reparameterized (timm inference_mode)");
    EXPECT_EQ(field(r->info(), "folded_batchnorms"), "5");
    EXPECT_NE(r->info().notes[0].find("4 ConvMlp.conv.bn"), std::string::npos) << r->info().notes[0];
}

TEST(FastVitInfo, CliInfoAndClassify) {
    VITRT_REQUIRE_SHARED_DATA();
    std::string out;
    ASSERT_EQ(test::run_command(test::cli_path() + " info --model " + fixture("fastvit_t8") + "/model.safetensors", &out), 0)
        << out;
    for (const char* s : {"architecture   fastvit_t8 (fastvit)", "checkpoint_form       unfused (train-time)",
                          "layers                2, 2, 4, 2", "embed_dims            48, 96, 192, 384",
                          "folded_batchnorms     70", "input_size            256x256",
                          "note: read the unfused (train-time) form and reparameterized it at load: folded 70 BatchNorms"})
        EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
    ASSERT_EQ(test::run_command(test::cli_path() + " info --json --model " + fixture("fastvit_t8") +
                                    "/model_reparam.safetensors", &out), 0) << out;
    EXPECT_NE(out.find("\"checkpoint_form\": \"reparameterized (timm inference_mode)\""), std::string::npos) << out;
    ASSERT_EQ(test::run_command(test::cli_path() + " classify --top-k 2 --model " + fixture("fastvit_t8") + " " +
                                    test::source_dir() + "/samples/tench.jpg", &out), 0) << out;
    EXPECT_NE(out.find("tench.jpg\n"), std::string::npos) << out;
}

// --- malformed checkpoints: a clear error naming the tensor -------------------------------------

using test::engine_load_error;

// The fixture with `edit` applied, written next to the other temporary files.
std::string edited(const std::string& file, const std::function<void(std::map<std::string, HostTensor>&)>& edit) {
    const Checkpoint ck = load_safetensors(fixture("fastvit_t8") + "/" + file);
    std::map<std::string, HostTensor> t = ck.tensors;
    edit(t);
    const std::string path = test::temp_dir() + "/fastvit_t8_edited.safetensors";
    save_safetensors(path, t, ck.metadata);
    return path;
}

TEST(FastVitMalformed, MissingOrMisshapenTensorsAreNamed) {
    VITRT_REQUIRE_SHARED_DATA();
    struct Case {
        const char* file;
        std::function<void(std::map<std::string, HostTensor>&)> edit;
        std::vector<std::string> expect;  // substrings of the error
    };
    auto drop = [](const char* n) { return [n](std::map<std::string, HostTensor>& t) { ASSERT_EQ(t.erase(n), 1u) << n; }; };
    auto reshape = [](const char* n, Shape s) {
        return [n, s](std::map<std::string, HostTensor>& t) { t[n] = HostTensor::zeros_f32(s); };
    };
    const std::vector<Case> cases = {
        {"model.safetensors", drop("stages.1.blocks.0.token_mixer.mixer.conv_kxk.0.bn.running_var"),
         {"missing tensor 'stages.1.blocks.0.token_mixer.mixer.conv_kxk.0.bn.running_var'"}},
        {"model.safetensors", drop("stem.0.conv_scale.conv.weight"),
         {"missing tensor 'stem.0.conv_scale.conv.weight'", "scale branch"}},
        {"model.safetensors", drop("stem.2.identity.running_mean"), {"missing tensor 'stem.2.identity.running_mean'"}},
        {"model.safetensors", drop("stages.2.downsample.proj.0.small_conv.conv.weight"),
         {"missing tensor 'stages.2.downsample.proj.0.small_conv.conv.weight'"}},
        {"model.safetensors", reshape("stages.2.blocks.1.mlp.fc1.weight", {576, 160, 1, 1}),
         {"'stages.2.blocks.1.mlp.fc1.weight' has shape [576, 160, 1, 1], expected [576, 192, 1, 1]"}},
        {"model.safetensors", reshape("stages.1.blocks.0.mlp.fc1.weight", {288, 80, 1, 1}),
         {"'stages.1.blocks.0.mlp.fc1.weight' has shape [288, 80, 1, 1]", "differs from the stage's downsampling output width 96"}},
        {"model.safetensors", reshape("stages.0.blocks.1.token_mixer.mixer.conv_kxk.0.bn.weight", {47}),
         {"'stages.0.blocks.1.token_mixer.mixer.conv_kxk.0.bn.weight' has shape [47], expected [48]"}},
        {"model.safetensors",
         [](std::map<std::string, HostTensor>& t) {
             for (auto it = t.begin(); it != t.end();)
                 it = it->first.rfind("stages.2.blocks.1.", 0) == 0 ? t.erase(it) : std::next(it);
         },
         {"'stages.2.blocks.2.", "no 'stages.2.blocks.1.*' tensors"}},
        {"model.safetensors", [](std::map<std::string, HostTensor>& t) { t["stages.0.blocks.0.extra.weight"] = HostTensor::zeros_f32({4}); },
         {"not used", "stages.0.blocks.0.extra.weight"}},
        {"model_reparam.safetensors", drop("stages.0.blocks.1.mlp.conv.bn.running_mean"),
         {"missing tensor 'stages.0.blocks.1.mlp.conv.bn.running_mean'"}},
        {"model_reparam.safetensors", reshape("stages.3.blocks.1.token_mixer.reparam_conv.weight", {384, 1, 5, 5}),
         {"'stages.3.blocks.1.token_mixer.reparam_conv.weight' has shape [384, 1, 5, 5], expected [384, 1, 3, 3]"}},
        {"model_reparam.safetensors", drop("final_conv.reparam_conv.bias"), {"missing tensor 'final_conv.reparam_conv.bias'"}},
        {"model_reparam.safetensors", drop("final_conv.se.fc2.bias"), {"missing tensor 'final_conv.se.fc2.bias'"}},
    };
    for (const Case& c : cases) {
        const std::string path = edited(c.file, c.edit);
        const std::string err = engine_load_error(path);
        for (const auto& s : c.expect) EXPECT_NE(err.find(s), std::string::npos) << "expected '" << s << "' in: " << err;
        EXPECT_NE(err.find(path), std::string::npos) << "the error names the file: " << err;
    }
    // The process is healthy afterwards: the intact fixture still loads and runs.
    auto e = Engine::load(fixture("fastvit_t8") + "/model_reparam.safetensors");
    const auto input = test::read_f32(fixture("fastvit_t8") + "/input.bin");
    EXPECT_LE(max_abs_diff(e->run(input.data(), 2), test::read_f32(fixture("fastvit_t8") + "/logits.bin")), 1e-4);
}

}  // namespace
}  // namespace vitrt
