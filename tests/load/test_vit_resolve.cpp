// ViT configuration resolution against what names and configs claim (issue 11): every value the
// registry or the model args state and the tensors can confirm is cross-checked, a contradiction
// is refused naming the field and both values, a name guessed from the path is dropped instead,
// the source of the head count is recorded, and img_size / layer_norm_eps are validated.
// Synthetic shapes only (no data, no numerics): exact checks on the config and the messages.
#include <gtest/gtest.h>

#include "common/test_env.hpp"
#include "load/vit_resolve.hpp"

namespace vitrt {
namespace {

using test::contains;

// timm-named shapes of a ViT; the defaults are ViT-Ti/16-224 (192 wide, 12 blocks, 197 tokens).
struct VitShapes {
    int64_t D = 192, depth = 12, patch = 16, mlp = 768, classes = 1000, grid = 14;
    bool cls = true, dist = false, qkv_bias = true, layer_scale = false;
    std::map<std::string, Shape> make() const {
        std::map<std::string, Shape> s;
        s["patch_embed.proj.weight"] = {D, 3, patch, patch};
        s["patch_embed.proj.bias"] = {D};
        const int64_t prefix = (cls ? 1 : 0) + (dist ? 1 : 0);
        s["pos_embed"] = {1, grid * grid + prefix, D};
        if (cls) s["cls_token"] = {1, 1, D};
        if (dist) s["dist_token"] = {1, 1, D}, s["head_dist.weight"] = {classes, D};
        for (int64_t i = 0; i < depth; ++i) {
            const std::string b = "blocks." + std::to_string(i) + ".";
            s[b + "norm1.weight"] = {D};
            s[b + "attn.qkv.weight"] = {3 * D, D};
            if (qkv_bias) s[b + "attn.qkv.bias"] = {3 * D};
            if (layer_scale) s[b + "ls1.gamma"] = {D};
            s[b + "mlp.fc1.weight"] = {mlp, D};
        }
        s["norm.weight"] = {D};
        if (classes) s["head.weight"] = {classes, D};
        return s;
    }
};

VitHints named(const std::string& name, const std::string& source = "--arch") {
    VitHints h;
    h.name = name;
    h.name_source = source;
    return h;
}

VitHints with_args(nlohmann::json args, const std::string& source) {
    VitHints h;
    for (auto it = args.begin(); it != args.end(); ++it) h.arg_sources[it.key()] = source + "." + it.key();
    h.model_args = std::move(args);
    return h;
}

// The message of the vitrt::Error resolve_vit_config throws ("" when it does not throw).
std::string refusal(const VitShapes& v, VitHints h) {
    try {
        resolve_vit_config(v.make(), h);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(VitResolve, RegistryNameThatContradictsTheWeightsIsRefused) {
    const VitShapes tiny;
    struct Case {
        const char* name;
        std::vector<std::string> parts;  // the field and both values
    };
    const Case cases[] = {
        {"vit_base_patch16_224", {"embed_dim is 768", "registry vit_base_patch16_224, named by --arch", "has 192"}},
        {"vit_small_patch32_224", {"patch size is 32", "has 16"}},
        {"deit_tiny_distilled_patch16_224", {"distillation token is present", "no dist_token"}},
        {"vit_medium_patch16_gap_256", {"embed_dim is 512"}},
        {"vit_base_patch16_gap_224", {"embed_dim is 768"}},
    };
    for (const Case& c : cases) {
        const std::string msg = refusal(tiny, named(c.name));
        ASSERT_FALSE(msg.empty()) << c.name << " was accepted for ViT-Ti weights";
        for (const auto& p : c.parts) EXPECT_TRUE(contains(msg, p)) << c.name << ": " << msg;
        EXPECT_TRUE(contains(msg, "pass the --arch that matches")) << msg;
    }
    VitShapes shallow;
    shallow.depth = 6;
    EXPECT_TRUE(contains(refusal(shallow, named("vit_tiny_patch16_224", "config.json architecture")),
                         "depth is 12 in registry vit_tiny_patch16_224, named by config.json architecture, but the "
                         "checkpoint has 6 blocks"));
    VitShapes no_bias;
    no_bias.qkv_bias = false;
    EXPECT_TRUE(contains(refusal(no_bias, named("vit_tiny_patch16_224")), "qkv_bias is true"));
    VitShapes gap;  // class token absent: contradicts every token-pooled registry entry
    gap.cls = false;
    EXPECT_TRUE(contains(refusal(gap, named("vit_tiny_patch16_224")), "class_token is true"));
    VitShapes ls;
    ls.layer_scale = true;
    EXPECT_TRUE(contains(refusal(ls, named("vit_tiny_patch16_224")), "LayerScale (init_values) is off"));
    VitShapes wide_mlp;
    wide_mlp.mlp = 1536;
    EXPECT_TRUE(contains(refusal(wide_mlp, named("vit_tiny_patch16_224")), "mlp_ratio is 4"));
}

TEST(VitResolve, ModelArgsThatContradictTheWeightsAreRefused) {
    const VitShapes tiny;
    const std::string src = "config.json model_args";
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"depth", 6}}, src)),
                         "depth is 6 in config.json model_args.depth, but the checkpoint has 12 blocks"));
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"embed_dim", 384}}, src)), "embed_dim is 384"));
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"mlp_ratio", 2.0}}, src)), "mlp_ratio is 2"));
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"num_classes", 10}}, src)),
                         "num_classes is 10 in config.json model_args.num_classes, but the checkpoint has 1000"));
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"num_classes", 0}}, src)), "has 1000"));
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"patch_size", 14}}, src)), "patch size is 14"));
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"class_token", false}}, src)), "class_token is false"));
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"init_values", 1e-5}}, src)), "LayerScale (init_values) is on"));
    // Wrong types name the key and where it came from (no nlohmann type_error, no float-to-int UB).
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"depth", "twelve"}}, src)), "config.json model_args.depth must be"));
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"depth", 1e30}}, src)), "must be a non-negative integer"));
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"num_heads", -3}}, src)), "num_heads must be"));
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"qkv_bias", 1}}, src)), "qkv_bias must be true or false"));
    EXPECT_TRUE(contains(refusal(tiny, with_args({{"global_pool", 3}}, src)), "global_pool must be a string"));
}

TEST(VitResolve, OnlyRgbInputsAreAccepted) {
    // A one-channel patch embedding used to run on the red channel alone, silently.
    auto s = VitShapes().make();
    s["patch_embed.proj.weight"] = {192, 1, 16, 16};
    VitHints h;
    try {
        resolve_vit_config(s, h);
        ADD_FAILURE() << "1 input channel accepted";
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "takes 1 input channels; vitrt feeds RGB images (3)")) << e.what();
    }
}

TEST(VitResolve, ModelArgsOverrideTheRegistryAsInTimm) {
    // timm.create_model('vit_base_patch32_224', depth=1, embed_dim=192, num_heads=3): the reduced
    // fixtures in ../shared/data/reference are made this way.
    VitShapes v;
    v.depth = 1, v.patch = 32, v.grid = 7;
    VitHints h = with_args({{"depth", 1}, {"embed_dim", 192}, {"num_heads", 3}}, "the checkpoint's metadata create_model_kwargs");
    h.name = "vit_base_patch32_224", h.name_source = "the checkpoint's metadata \"model\"";
    const VitConfig c = resolve_vit_config(v.make(), h);
    EXPECT_EQ(c.name, "vit_base_patch32_224");
    EXPECT_EQ(c.heads, 3);
    EXPECT_EQ(h.heads_source, "the checkpoint's metadata create_model_kwargs.num_heads");
}

TEST(VitResolve, NameFromThePathIsDroppedWhenTheTensorsContradictIt) {
    VitHints h = named("vit_base_patch16_224", "the path name 'vit_base_patch16_224.safetensors'");
    h.name_from_path = true;
    const VitConfig c = resolve_vit_config(VitShapes().make(), h);
    EXPECT_EQ(c.name, "");
    EXPECT_EQ(c.embed_dim, 192);
    EXPECT_EQ(c.heads, 3);  // assumed from the width (head dim 64), not vit_base's 12
    bool noted = false;
    for (const auto& n : h.notes) noted = noted || (contains(n, "ignored") && contains(n, "embed_dim is 768"));
    EXPECT_TRUE(noted) << "the dropped name is noted";
    EXPECT_TRUE(contains(h.heads_source, "assumed")) << h.heads_source;
}

TEST(VitResolve, TheSourceOfTheHeadCountIsRecorded) {
    const VitShapes tiny;
    {
        VitHints h = named("vit_tiny_patch16_224", "config.json architecture");
        EXPECT_EQ(resolve_vit_config(tiny.make(), h).heads, 3);
        EXPECT_EQ(h.heads_source, "registry vit_tiny_patch16_224, named by config.json architecture");
    }
    {
        VitHints h = with_args({{"num_heads", 16}}, "config.json model_args");  // 192 = 16 x 12: runs, but say so
        h.name = "vit_tiny_patch16_224", h.name_source = "config.json architecture";
        EXPECT_EQ(resolve_vit_config(tiny.make(), h).heads, 16);
        EXPECT_EQ(h.heads_source, "config.json model_args.num_heads");
        bool noted = false;
        for (const auto& n : h.notes) noted = noted || contains(n, "overrides the 3 heads of registry vit_tiny_patch16_224");
        EXPECT_TRUE(noted);
    }
    {
        VitHints h;
        EXPECT_EQ(resolve_vit_config(tiny.make(), h).heads, 3);
        EXPECT_TRUE(contains(h.heads_source, "assumed (embed_dim / 64)")) << h.heads_source;
    }
    {  // Google .npz: the query kernels [D, H, D/H] show the count, so a name must agree with it.
        VitHints h;
        h.heads_in_weights = 4;
        EXPECT_EQ(resolve_vit_config(tiny.make(), h).heads, 4);
        EXPECT_EQ(h.heads_source, "the checkpoint's query kernel shape");
        VitHints n = named("vit_tiny_patch16_224");
        n.heads_in_weights = 4;
        EXPECT_TRUE(contains(refusal(tiny, n), "num_heads is 3 in registry vit_tiny_patch16_224, named by --arch, but the "
                                               "checkpoint has 4"));
    }
}

TEST(VitResolve, PosEmbedTokenCountMustFitTheClaims) {
    VitShapes v;
    VitHints h = with_args({{"img_size", 384}}, "config.json model_args");
    const std::string msg = refusal(v, h);
    EXPECT_TRUE(contains(msg, "pos_embed has 197 rows")) << msg;
    EXPECT_TRUE(contains(msg, "24x24 patches (384x384 pixels, from config.json model_args.img_size)")) << msg;
    // A registered name at another resolution: the grid decides (timm's img_size kwarg), noted.
    VitHints r = named("vit_tiny_patch16_384");
    const VitConfig c = resolve_vit_config(v.make(), r);
    EXPECT_EQ(c.img_h, 224);
    bool noted = false;
    for (const auto& n : r.notes) noted = noted || contains(n, "resolution 224x224 instead of the 384x384");
    EXPECT_TRUE(noted);
}

TEST(VitResolve, ImgSizeAndLayerNormEpsAreValidated) {
    const VitShapes tiny;
    const std::string src = "config.json model_args";
    for (const nlohmann::json& bad : {nlohmann::json(-224), nlohmann::json(0), nlohmann::json(int64_t(1) << 40),
                                      nlohmann::json::array({224, "a"}), nlohmann::json(224.5)}) {
        const std::string msg = refusal(tiny, with_args({{"img_size", bad}}, src));
        EXPECT_TRUE(contains(msg, "config.json model_args.img_size must be an integer or [H, W]")) << bad.dump() << ": " << msg;
    }
    for (const nlohmann::json& bad : {nlohmann::json(-1), nlohmann::json(0), nlohmann::json(2.0), nlohmann::json("x")}) {
        const std::string msg = refusal(tiny, with_args({{"layer_norm_eps", bad}}, src));
        EXPECT_TRUE(contains(msg, "config.json model_args.layer_norm_eps must be")) << bad.dump() << ": " << msg;
    }
    VitHints h;
    h.eps = -1.0;
    h.eps_source = "config.json layer_norm_eps";
    EXPECT_TRUE(contains(refusal(tiny, h), "config.json layer_norm_eps must be a positive number up to 1"));
    h.eps = 1e-12;  // transformers' default is fine
    EXPECT_FLOAT_EQ(resolve_vit_config(tiny.make(), h).eps, 1e-12f);
}

}  // namespace
}  // namespace vitrt
