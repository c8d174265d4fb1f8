// All seven registered FastViT variants (fastvit_t8, t12, s12, sa12, sa24, sa36, ma36), without
// shared data: state dicts with timm's key layout are generated here (random weights, both the
// train-time and the reparameterized key sets) and must configure, load and run as the variant;
// plus name/config.json handling and preprocessing defaults.
//
// The generator below restates timm's FastVit module tree (timm/models/fastvit.py) independently
// of the loader; numerics against timm itself are in test_fastvit.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/test_env.hpp"
#include "engine/backend_factory.hpp"
#include "io/checkpoint.hpp"
#include "load/fastvit_resolve.hpp"
#include "io/model_source.hpp"
#include "load/load.hpp"
#include "models/fastvit.hpp"
#include "models/fastvit_geometry.hpp"
#include "models/registry/registry.hpp"
#include "vitrt/vitrt.hpp"

namespace vitrt {
namespace {

// A timm FastVit state dict (names and shapes; small random values).
class StateDict {
public:
    // shapes_only: tensors carry shapes but no data (for configuration tests).
    StateDict(const FastVitVariant& v, bool reparam, uint32_t seed = 1, bool shapes_only = false)
        : reparam_(reparam), shapes_only_(shapes_only), state_(seed * 2654435761u + 1u) {
        const int64_t C0 = v.dims[0];
        mobileone("stem.0", 3, C0, 3, 2, 1);
        mobileone("stem.1", C0, C0, 3, 2, C0);
        mobileone("stem.2", C0, C0, 1, 1, 1);
        int64_t prev = C0;
        for (int i = 0; i < 4; ++i) {
            const int64_t D = v.dims[i], Hd = int64_t(double(D) * v.mlp_ratio);
            const std::string P = "stages." + std::to_string(i) + ".";
            const bool attn = v.attention_last && i == 3;
            if (i > 0) {  // PatchEmbed: ReparamLargeKernelConv(7, small 3, group_size 1) + MobileOne 1x1
                if (reparam_) {
                    conv(P + "downsample.proj.0.reparam_conv", D, 1, 7, true);
                } else {
                    conv_bn(P + "downsample.proj.0.large_conv", D, 1, 7);
                    conv_bn(P + "downsample.proj.0.small_conv", D, 1, 3);
                }
                mobileone(P + "downsample.proj.1", D, D, 1, 1, 1);
            }
            if (attn) {  // RepConditionalPosEnc 7x7
                if (reparam_) conv(P + "pos_emb.reparam_conv", D, 1, 7, true);
                else conv(P + "pos_emb.pos_enc", D, 1, 7, true);
            }
            for (int64_t j = 0; j < v.layers[i]; ++j) {
                const std::string B = P + "blocks." + std::to_string(j) + ".";
                if (attn) {
                    bn(B + "norm", D);
                    randn(B + "token_mixer.qkv.weight", {3 * D, D}, 1.0 / std::sqrt(double(D)));
                    randn(B + "token_mixer.proj.weight", {D, D}, 1.0 / std::sqrt(double(D)));
                    randn(B + "token_mixer.proj.bias", {D}, 0.1);
                    randn(B + "layer_scale_1.gamma", {D, 1, 1}, 0.1);
                    randn(B + "layer_scale_2.gamma", {D, 1, 1}, 0.1);
                } else {
                    const std::string M = B + "token_mixer.";
                    if (reparam_) {
                        conv(M + "reparam_conv", D, 1, 3, true);
                    } else {
                        bn(M + "norm.identity", D);
                        mobileone(M + "mixer", D, D, 3, 1, D);
                        randn(M + "layer_scale.gamma", {D, 1, 1}, 0.1);
                    }
                    randn(B + "layer_scale.gamma", {D, 1, 1}, 0.1);
                }
                conv_bn(B + "mlp.conv", D, 1, 7);  // ConvMlp.conv: depthwise 7x7 + BN (both forms)
                conv(B + "mlp.fc1", Hd, D, 1, true);
                conv(B + "mlp.fc2", D, Hd, 1, true);
            }
            prev = D;
        }
        const int64_t F = 2 * prev, R = F / 16;  // cls_ratio 2; SqueezeExcite(rd_ratio 1/16, divisor 1)
        mobileone("final_conv", prev, F, 3, 1, prev);
        conv("final_conv.se.fc1", R, F, 1, true);
        conv("final_conv.se.fc2", F, R, 1, true);
        randn("head.fc.weight", {1000, F}, 1.0 / std::sqrt(double(F)));
        randn("head.fc.bias", {1000}, 0.1);
    }
    std::map<std::string, HostTensor> tensors;

private:
    // Uniform in [-1, 1) from a xorshift generator: fast enough for 44 M values (fastvit_ma36).
    float uniform() {
        state_ ^= state_ << 13, state_ ^= state_ >> 17, state_ ^= state_ << 5;
        return float(state_ >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
    // Random values with the given mean and standard deviation (uniform distribution).
    void randn(const std::string& n, const Shape& s, double scale, double mean = 0) {
        if (shapes_only_) {
            tensors[n].view.shape = s;
            return;
        }
        HostTensor t = HostTensor::zeros_f32(s);
        const float a = float(scale * std::sqrt(3.0));
        for (int64_t i = 0; i < t.view.numel(); ++i) t.mutable_f32()[i] = float(mean) + a * uniform();
        tensors[n] = t;
    }
    void conv(const std::string& p, int64_t O, int64_t Ig, int64_t k, bool bias) {
        randn(p + ".weight", {O, Ig, k, k}, 1.0 / std::sqrt(double(Ig * k * k)));
        if (bias) randn(p + ".bias", {O}, 0.1);
    }
    void bn(const std::string& p, int64_t C) {
        randn(p + ".weight", {C}, 0.1, 1.0);
        randn(p + ".bias", {C}, 0.1);
        randn(p + ".running_mean", {C}, 0.1);
        randn(p + ".running_var", {C}, 0.25, 1.0);  // in [0.57, 1.43]
    }
    void conv_bn(const std::string& p, int64_t O, int64_t Ig, int64_t k) {
        conv(p + ".conv", O, Ig, k, false);
        bn(p + ".bn", O);
    }
    // MobileOneBlock(in, out, k, stride, groups): conv_kxk.0, conv_scale (k > 1), identity (in == out, stride 1).
    void mobileone(const std::string& p, int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups) {
        if (reparam_) return conv(p + ".reparam_conv", out, in / groups, k, true);
        conv_bn(p + ".conv_kxk.0", out, in / groups, k);
        if (k > 1) conv_bn(p + ".conv_scale", out, in / groups, 1);
        if (in == out && stride == 1) bn(p + ".identity", in);
    }
    bool reparam_, shapes_only_;
    uint32_t state_;
};

std::map<std::string, Shape> shapes_of(const std::map<std::string, HostTensor>& t) {
    std::map<std::string, Shape> s;
    for (const auto& [k, v] : t) s[k] = v.view.shape;
    return s;
}

std::string field(const ModelDescription& d, const std::string& key) {
    for (const auto& [k, v] : d.fields)
        if (k == key) return v;
    return "<missing " + key + ">";
}

TEST(FastVitVariants, RegistryHasTheSevenTimmVariants) {
    std::vector<std::string> names;
    for (const auto& v : fastvit_variants()) names.push_back(v.name);
    EXPECT_EQ(names, (std::vector<std::string>{"fastvit_t8", "fastvit_t12", "fastvit_s12", "fastvit_sa12", "fastvit_sa24",
                                               "fastvit_sa36", "fastvit_ma36"}));
    ASSERT_TRUE(lookup_fastvit("fastvit_sa24.apple_dist_in1k"));
    EXPECT_FALSE(lookup_fastvit("fastvit_xl"));
    const auto p = fastvit_default_preprocess("fastvit_s12");
    EXPECT_EQ(p.input_height, 256);
    EXPECT_EQ(p.input_width, 256);
    EXPECT_DOUBLE_EQ(p.crop_pct, 0.9);
    EXPECT_EQ(p.interp, image::Interp::bicubic);
    EXPECT_FLOAT_EQ(p.mean[0], 0.485f);
    EXPECT_FLOAT_EQ(p.std[2], 0.225f);
    EXPECT_DOUBLE_EQ(fastvit_default_preprocess("fastvit_ma36").crop_pct, 0.95);
}

TEST(FastVitVariants, ConfigFromTensorShapesBothForms) {
    // GMACs per image at 256x256 as timm's model table lists them (FastViT paper, Table 3).
    const std::map<std::string, double> gmacs = {{"fastvit_t8", 0.7},  {"fastvit_t12", 1.4}, {"fastvit_s12", 1.8},
                                                 {"fastvit_sa12", 1.9}, {"fastvit_sa24", 3.8}, {"fastvit_sa36", 5.6},
                                                 {"fastvit_ma36", 7.9}};
    for (const auto& v : fastvit_variants()) {
        for (bool reparam : {false, true}) {
            const StateDict sd(v, reparam, 1, true);
            std::vector<std::string> notes;
            const FastVitConfig c = resolve_fastvit_config(shapes_of(sd.tensors), {}, notes);
            EXPECT_EQ(c.name, v.name) << "recognised from the shapes alone";
            ASSERT_EQ(c.stages.size(), 4u);
            EXPECT_EQ(c.stem_dim, v.dims[0]);
            for (int i = 0; i < 4; ++i) {
                const auto& s = c.stages[size_t(i)];
                EXPECT_EQ(s.depth, v.layers[i]) << v.name << " stage " << i;
                EXPECT_EQ(s.dim, v.dims[i]) << v.name << " stage " << i;
                EXPECT_EQ(s.mlp_hidden, int64_t(v.dims[i] * v.mlp_ratio)) << v.name;
                EXPECT_EQ(s.attention, v.attention_last && i == 3) << v.name;
                EXPECT_EQ(s.pos_kernel, v.attention_last && i == 3 ? 7 : 0) << v.name;
                EXPECT_EQ(s.downsample, i > 0);
            }
            EXPECT_EQ(c.num_features, 2 * v.dims[3]);
            EXPECT_EQ(c.num_classes, 1000);
            const double g = fastvit_geometry(c, 256, 256).flops / 2e9;
            EXPECT_NEAR(g, gmacs.at(v.name), 0.1 * gmacs.at(v.name)) << v.name << " GMACs";
            // Named explicitly (config.json / metadata): no mismatch note.
            FastVitHints h;
            h.name = v.name;
            notes.clear();
            resolve_fastvit_config(shapes_of(sd.tensors), h, notes);
            EXPECT_TRUE(notes.empty()) << v.name << ": " << (notes.empty() ? "" : notes[0]);
        }
    }
}

TEST(FastVitVariants, EveryVariantLoadsAndRunsFromBothForms) {
    auto ops = make_backend("cpu");
    for (const auto& v : fastvit_variants()) {
        for (bool reparam : {false, true}) {
            ModelSource src;
            src.checkpoint.path = std::string("<generated ") + v.name + ">";
            src.checkpoint.format = "safetensors";
            src.checkpoint.tensors = StateDict(v, reparam, 3).tensors;
            LoadOptions o;
            // The weights do not depend on the resolution; 128x128 keeps the test quick (last stage
            // 4x4 = 16 tokens).
            o.image_size = 128;
            LoadedModel m = load_fastvit(src, *ops, o);
            const ModelDescription& d = m.model->description();
            EXPECT_EQ(d.architecture, v.name);
            EXPECT_EQ(field(d, "checkpoint_form"), reparam ? "reparameterized (timm inference_mode)" : "unfused (train-time)");
            EXPECT_EQ(field(d, "layers"), fastvit_list(std::vector<int64_t>(v.layers, v.layers + 4)));
            EXPECT_EQ(field(d, "embed_dims"), fastvit_list(std::vector<int64_t>(v.dims, v.dims + 4)));
            EXPECT_EQ(m.preprocess.input_height, 128);
            ASSERT_EQ(m.model->num_classes(), 1000);
            // One forward: finite logits.
            Tensor in, logits;
            in.shape = {1, 3, 128, 128};
            logits.shape = {1, 1000};
            std::vector<float> x(size_t(3 * 128 * 128)), y(1000);
            std::mt19937 g(5);
            std::normal_distribution<float> n;
            for (float& f : x) f = n(g);
            auto in_mem = ops->allocate(in.nbytes()), out_mem = ops->allocate(logits.nbytes());
            in.data = in_mem.get(), logits.data = out_mem.get();
            ops->upload(in.data, x.data(), in.nbytes());
            Arena arena;
            arena.reset(nullptr);
            m.model->forward(*ops, arena, in, logits);
            auto mem = ops->allocate(arena.used());
            arena.reset(mem.get(), arena.used());
            m.model->forward(*ops, arena, in, logits);
            ops->download(y.data(), logits.data, logits.nbytes());
            double sum = 0;
            for (float f : y) sum += std::fabs(f);
            EXPECT_TRUE(std::isfinite(sum) && sum > 0) << v.name;
        }
    }
}

// A hub directory (timm layout): config.json's pretrained_cfg decides preprocessing and labels.
TEST(FastVitVariants, HubDirectoryConfigJson) {
    const auto v = *lookup_fastvit("fastvit_t8");
    const std::string dir = test::temp_dir() + "/fastvit_t8.apple_in1k";
    std::filesystem::create_directories(dir);
    save_safetensors(dir + "/model.safetensors", StateDict(v, false, 9).tensors);
    nlohmann::json cfg = {
        {"architecture", "fastvit_t8"},
        {"num_classes", 1000},
        {"pretrained_cfg",
         {{"input_size", {3, 224, 224}},
          {"interpolation", "bilinear"},
          {"crop_pct", 0.95},
          {"crop_mode", "center"},
          {"mean", {0.5, 0.5, 0.5}},
          {"std", {0.25, 0.25, 0.25}}}},
    };
    std::vector<std::string> names;
    for (int i = 0; i < 1000; ++i) names.push_back("class " + std::to_string(i));
    cfg["label_names"] = names;
    std::ofstream(dir + "/config.json") << cfg.dump();
    auto e = Engine::load(dir);
    EXPECT_EQ(e->info().architecture, "fastvit_t8");
    EXPECT_EQ(e->input_height(), 224);
    const std::vector<std::pair<std::string, std::string>> pre = {
        {"input_size", "224x224"},
        {"resize", "bilinear (PIL), crop_pct 0.95, crop_mode center"},
        {"mean", "(0.5, 0.5, 0.5)"},
        {"std", "(0.25, 0.25, 0.25)"},
    };
    EXPECT_EQ(e->info().preprocess, pre);
    EXPECT_EQ(e->labels()[7], "class 7");
    std::vector<float> x(e->input_size());
    e->preprocess_file(test::source_dir() + "/samples/tench.jpg", x.data());
    const auto top = e->top_k(e->run(x.data(), 1).data(), 1);
    ASSERT_EQ(top.size(), 1u);
    EXPECT_EQ(top[0].label.rfind("class ", 0), 0u);

    // Without config.json: the architecture comes from the shapes, preprocessing from the registry.
    const std::string bare = test::temp_dir() + "/weights.safetensors";
    save_safetensors(bare, StateDict(*lookup_fastvit("fastvit_sa12"), true, 4).tensors);
    auto b = Engine::load(bare, {.image_size = 128});
    EXPECT_EQ(b->info().architecture, "fastvit_sa12");
    EXPECT_EQ(b->input_height(), 128);
    bool recognised = false;
    for (const auto& n : b->info().notes) recognised |= n.find("recognised from the tensor shapes") != std::string::npos;
    EXPECT_TRUE(recognised);
}

// A registered name (--arch, config.json, metadata) whose hyper-parameters, with its model args,
// contradict the tensors is refused naming the field and both values (issue 11); a name guessed
// from the path is dropped and the shapes recognised instead.
TEST(FastVitVariants, NameThatContradictsTheWeightsIsRefused) {
    const StateDict sa12(*lookup_fastvit("fastvit_sa12"), true, 1, true);
    const auto shapes = shapes_of(sa12.tensors);
    auto refusal = [&](const FastVitHints& h) {
        std::vector<std::string> notes;
        try {
            resolve_fastvit_config(shapes, h, notes);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    auto contains = [](const std::string& s, const std::string& p) { return s.find(p) != std::string::npos; };
    FastVitHints h;
    h.name = "fastvit_t8", h.name_source = "--arch";
    std::string msg = refusal(h);
    EXPECT_TRUE(contains(msg, "layers is [2, 2, 4, 2] in registry fastvit_t8, named by --arch, but the checkpoint has "
                              "[2, 2, 6, 2]")) << msg;
    EXPECT_TRUE(contains(msg, "pass the --arch that matches")) << msg;
    h.name = "fastvit_s12";  // same layers and widths; RepMixer where sa12 has attention
    msg = refusal(h);
    EXPECT_TRUE(contains(msg, "token mixer of stage 3 is RepMixer")) << msg;
    h.name = "fastvit_sa12", h.name_source = "config.json architecture";
    h.model_args = {{"layers", {1, 1, 1, 1}}};
    h.arg_sources = {{"layers", "config.json model_args.layers"}};
    msg = refusal(h);
    EXPECT_TRUE(contains(msg, "layers is [1, 1, 1, 1] in config.json model_args.layers")) << msg;
    h.model_args = {{"embed_dims", {64, 128, 256, "x"}}};
    h.arg_sources = {{"embed_dims", "config.json model_args.embed_dims"}};
    EXPECT_TRUE(contains(refusal(h), "config.json model_args.embed_dims must be four non-negative integers"));
    h.model_args = {{"num_classes", 10}};
    h.arg_sources = {{"num_classes", "config.json num_classes"}};
    EXPECT_TRUE(contains(refusal(h), "num_classes is 10 in config.json num_classes, but the checkpoint has 1000"));

    FastVitHints path;
    path.name = "fastvit_t8", path.name_source = "the path name 'fastvit_t8.safetensors'", path.name_from_path = true;
    std::vector<std::string> notes;
    EXPECT_EQ(resolve_fastvit_config(shapes, path, notes).name, "fastvit_sa12");
    bool noted = false;
    for (const auto& n : notes) noted = noted || contains(n, "ignored: layers is [2, 2, 4, 2]");
    EXPECT_TRUE(noted);
}

// NaN/Inf weights are refused at load (issue 11): by their checkpoint names before folding, and
// after folding (finite statistics can fold into Inf) by the folded weight's name.
TEST(FastVitVariants, NonFiniteWeightsAreRefused) {
    auto ops = make_backend("ref");
    auto load_error = [&](const std::vector<std::pair<std::string, float>>& changes) {
        ModelSource src;
        src.checkpoint.path = "<generated>";
        src.checkpoint.format = "safetensors";
        src.checkpoint.tensors = StateDict(*lookup_fastvit("fastvit_t8"), false, 2).tensors;
        for (const auto& [key, value] : changes) src.checkpoint.tensors.at(key).mutable_f32()[3] = value;
        LoadOptions o;
        o.image_size = 64;
        try {
            load_fastvit(src, *ops, o);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    const std::string bn = "stages.1.blocks.0.mlp.conv.bn";
    std::string msg = load_error({{bn + ".running_mean", std::nanf("")}});
    EXPECT_NE(msg.find("<generated>: tensor '" + bn + ".running_mean' holds NaN or Inf"), std::string::npos) << msg;
    // Finite, but gamma / sqrt(var + eps) = 3e38 / sqrt(1e-5) overflows when folded into the conv.
    msg = load_error({{bn + ".weight", 3e38f}, {bn + ".running_var", 0.0f}});
    EXPECT_NE(msg.find("holds NaN or Inf"), std::string::npos) << msg;
    EXPECT_NE(msg.find("<generated>: weight 'stages.1.blocks.0.mlp."), std::string::npos) << msg;
}

TEST(FastVitVariants, UnsupportedVariantsAreRefused) {
    ModelSource src;
    src.checkpoint.path = "<generated>";
    src.checkpoint.format = "safetensors";
    src.checkpoint.tensors = StateDict(*lookup_fastvit("fastvit_sa12"), true, 2).tensors;
    auto ops = make_backend("ref");
    LoadOptions o;
    o.arch = "fastvit_mci1";
    try {
        load_fastvit(src, *ops, o);
        ADD_FAILURE() << "MobileCLIP variant accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("fastvit_mci1"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace vitrt
