// Config values that used to load and then fail per image, crash or give NaN (issue 11): every
// size, crop, mean/std, eps and interpolation value read from a timm pretrained_cfg, a
// transformers preprocessor_config.json or model args is validated at load, and the message names
// the field. In-memory configs for the readers, plus the bundled model through Engine::load for
// the end-to-end cases. Exact checks on the messages only.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/load_error.hpp"
#include "common/test_env.hpp"
#include "load/pretrained_cfg.hpp"
#include "vitrt/vitrt.hpp"

namespace fs = std::filesystem;

namespace vitrt {
namespace {

using json = nlohmann::json;

using test::contains;

// The message apply_timm_pretrained_cfg throws for {"pretrained_cfg": {key: value}} ("" if none).
std::string timm_error(const std::string& key, const json& value) {
    ModelSource src;
    src.config_kind = ConfigKind::timm;
    src.config = {{"architecture", "vit_tiny_patch16_224"}, {"pretrained_cfg", {{key, value}}}};
    image::PreprocessConfig p;
    try {
        apply_timm_pretrained_cfg(src, p);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

std::string transformers_error(const json& preprocessor) {
    ModelSource src;
    src.config_kind = ConfigKind::transformers;
    src.config = {{"model_type", "vit"}};
    src.preprocessor = preprocessor;
    image::PreprocessConfig p;
    std::vector<std::string> notes;
    try {
        apply_transformers_preprocessor(src, p, notes);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(PretrainedCfg, TimmValuesAreValidatedNamingTheField) {
    struct Case {
        const char* key;
        json value;
        const char* message;
    };
    const Case cases[] = {
        {"input_size", {3, 0, 0}, "pretrained_cfg.input_size H must be an integer from 1 to 4096"},
        {"input_size", {3, -224, 224}, "pretrained_cfg.input_size H must be"},
        {"input_size", {3, 224, 1e30}, "pretrained_cfg.input_size W must be"},  // no float-to-int UB
        {"input_size", {3, "a", 1}, "pretrained_cfg.input_size H must be"},    // no nlohmann type_error
        {"input_size", {3, 8192, 224}, "pretrained_cfg.input_size H must be"},
        {"input_size", {1, 224, 224}, "pretrained_cfg.input_size must be [3, H, W] (RGB)"},
        {"input_size", {224, 224}, "pretrained_cfg.input_size must be [3, H, W]"},
        {"crop_pct", 0, "pretrained_cfg.crop_pct must be a number in (0, 10]"},
        {"crop_pct", 1e9, "pretrained_cfg.crop_pct must be"},
        {"crop_pct", -0.9, "pretrained_cfg.crop_pct must be"},
        {"crop_pct", "0.9", "pretrained_cfg.crop_pct must be"},
        {"crop_mode", "zoom", "pretrained_cfg.crop_mode: unknown crop_mode 'zoom'"},
        {"crop_mode", 1, "pretrained_cfg.crop_mode must be a string"},
        {"interpolation", "lanczos", "pretrained_cfg.interpolation: unknown interpolation 'lanczos'"},
        {"mean", {0.5, 0.5}, "pretrained_cfg.mean must be three numbers"},
        {"mean", {0.5, "a", 0.5}, "pretrained_cfg.mean must be three finite numbers"},
        {"mean", {0.5, 1e300, 0.5}, "pretrained_cfg.mean must be three finite numbers"},
        {"std", {0.5, 0, 0.5}, "pretrained_cfg.std must be three finite non-zero numbers"},
        {"std", 0, "pretrained_cfg.std must be three finite non-zero numbers"},
    };
    for (const Case& c : cases) {
        const std::string msg = timm_error(c.key, c.value);
        EXPECT_TRUE(contains(msg, c.message)) << c.key << " = " << c.value.dump() << ": " << msg;
    }
    EXPECT_EQ(timm_error("crop_pct", 1.0), "");
    EXPECT_EQ(timm_error("mean", 0.5), "");  // one number for all channels
    EXPECT_EQ(timm_error("input_size", nullptr), "");
}

TEST(PretrainedCfg, TransformersValuesAreValidatedNamingTheField) {
    EXPECT_TRUE(contains(transformers_error({{"size", 0}}), "preprocessor_config.json size must be an integer from 1 to 4096"));
    EXPECT_TRUE(contains(transformers_error({{"size", {{"height", -1}, {"width", 224}}}}),
                         "preprocessor_config.json size.height must be"));
    EXPECT_TRUE(contains(transformers_error({{"size", 256}, {"do_center_crop", true}, {"crop_size", 0}}),
                         "preprocessor_config.json crop_size must be"));
    EXPECT_TRUE(contains(transformers_error({{"size", 256}, {"do_center_crop", true}, {"crop_size", {{"height", 224}, {"width", "a"}}}}),
                         "preprocessor_config.json crop_size.width must be"));
    EXPECT_TRUE(contains(transformers_error({{"resample", 1}}), "preprocessor_config.json resample must be 0 (nearest), 2"));
    EXPECT_TRUE(contains(transformers_error({{"image_std", {0.5, 0.5, 0}}}),
                         "preprocessor_config.json image_std must be three finite non-zero numbers"));
    EXPECT_TRUE(contains(transformers_error({{"image_mean", "imagenet"}}), "preprocessor_config.json image_mean must be"));
    // DeiT: resize 256 (squash), centre-crop 224.
    ModelSource src;
    src.config_kind = ConfigKind::transformers;
    src.preprocessor = {{"size", {{"height", 256}, {"width", 256}}}, {"do_center_crop", true}, {"crop_size", 224}, {"resample", 3}};
    image::PreprocessConfig p;
    std::vector<std::string> notes;
    ASSERT_TRUE(apply_transformers_preprocessor(src, p, notes));
    EXPECT_EQ(p.input_height, 224);
    EXPECT_EQ(int(224 / p.crop_pct), 256);
    EXPECT_EQ(p.crop_mode, image::CropMode::squash);
    EXPECT_EQ(p.interp, image::Interp::bicubic);
}

// The bundled ViT-Ti/16 in a directory with `config` as config.json.
std::string bundled_with(const std::string& name, const json& config) {
    const std::string dir = test::temp_dir() + "/" + name;
    fs::create_directories(dir);
    fs::create_symlink(test::source_dir() + "/models/vit_tiny_patch16_224/model.safetensors", dir + "/model.safetensors");
    std::ofstream(dir + "/config.json") << config.dump();
    return dir;
}

using test::engine_load_error;

TEST(PretrainedCfg, InvalidConfigsFailAtLoadNotPerImage) {
    // input_size [3, 0, 0] used to crash bench/forward with SIGFPE in oneDNN, and make classify
    // fail every image with "preprocess: null output buffer".
    const json timm = {{"architecture", "vit_tiny_patch16_224"}};
    json zero = timm;
    zero["pretrained_cfg"] = {{"input_size", {3, 0, 0}}};
    EXPECT_TRUE(contains(engine_load_error(bundled_with("zero", zero)), "pretrained_cfg.input_size H must be"));
    json crop = timm;
    crop["pretrained_cfg"] = {{"crop_pct", 0}};
    EXPECT_TRUE(contains(engine_load_error(bundled_with("crop0", crop)), "pretrained_cfg.crop_pct"));
    // layer_norm_eps -1 used to give NaN outputs.
    const json hf = {{"model_type", "vit"}, {"hidden_size", 192}, {"num_attention_heads", 3}, {"layer_norm_eps", -1}};
    EXPECT_TRUE(contains(engine_load_error(bundled_with("eps", hf)), "config.json layer_norm_eps must be a positive number"));
    json args = timm;
    args["model_args"] = {{"layer_norm_eps", 0}};
    EXPECT_TRUE(contains(engine_load_error(bundled_with("eps0", args)), "config.json model_args.layer_norm_eps must be"));
    // img_size whose int64 arithmetic would overflow, and negative sizes.
    args["model_args"] = {{"img_size", int64_t(1) << 62}};
    EXPECT_TRUE(contains(engine_load_error(bundled_with("img_big", args)), "config.json model_args.img_size must be an integer"));
    args["model_args"] = {{"img_size", {-224, 224}}};
    EXPECT_TRUE(contains(engine_load_error(bundled_with("img_neg", args)), "config.json model_args.img_size must be"));
    json hf_size = {{"model_type", "vit"}, {"hidden_size", 192}, {"num_attention_heads", 3}, {"image_size", -5}};
    EXPECT_TRUE(contains(engine_load_error(bundled_with("hf_img", hf_size)), "config.json image_size must be"));
}

}  // namespace
}  // namespace vitrt
