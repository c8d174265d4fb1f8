// Image module tests that need no Python: error handling on bad files (never a crash, always a
// vitrt::Error naming the file), the eval-transform geometry (worked out by hand from
// torchvision/timm's formulas), resize invariants, and the stored reference inputs of the real
// ViT-Ti model in ../shared/data. The comparisons against PIL/torchvision themselves are in
// test_image_pil.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "common/test_env.hpp"
#include "image/image.hpp"
#include "common/images.hpp"
#include "vitrt/error.hpp"

namespace fs = std::filesystem;
using namespace vitrt;
using namespace vitrt::image;
using vitrt::test::encode_rgb_jpeg;
using vitrt::test::encode_rgb_png;

namespace {

// Expects decode_file(path) to throw vitrt::Error whose message names the file and contains
// every fragment.
void expect_decode_error(const std::string& path, std::initializer_list<const char*> fragments) {
    try {
        decode_file(path);
        ADD_FAILURE() << path << ": decoded without error";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
        for (const char* f : fragments)
            EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
    } catch (const std::exception& e) {
        ADD_FAILURE() << path << ": threw a non-vitrt exception: " << e.what();
    }
}

std::string write_temp(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string p = vitrt::test::temp_dir() + "/" + name;
    vitrt::test::write_bytes(p, bytes);
    return p;
}

}  // namespace

TEST(ImageDecode, EncodedRoundTripSizes) {
    const RgbImage j = decode_file(write_temp("ok.jpg", encode_rgb_jpeg(67, 41)));
    EXPECT_EQ(j.width, 67);
    EXPECT_EQ(j.height, 41);
    EXPECT_EQ(j.pixels.size(), size_t(67 * 41 * 3));
    // PNG is lossless: the decoded pixels are the encoded ones.
    const RgbImage p = decode_file(write_temp("ok.png", encode_rgb_png(13, 7, 5)));
    ASSERT_EQ(p.width, 13);
    ASSERT_EQ(p.height, 7);
    EXPECT_EQ(p.pixels, vitrt::test::pattern(13, 7, 3, 5));
}

TEST(ImageDecode, FormatComesFromMagicBytesNotName) {
    const RgbImage p = decode_file(write_temp("really_a_png.jpg", encode_rgb_png(9, 4)));
    EXPECT_EQ(p.width, 9);
    const RgbImage j = decode_file(write_temp("really_a_jpeg.png", encode_rgb_jpeg(9, 4)));
    EXPECT_EQ(j.width, 9);
}

TEST(ImageDecode, EmptyFile) { expect_decode_error(write_temp("empty.jpg", {}), {"empty"}); }

TEST(ImageDecode, RandomBytes) {
    std::mt19937 rng(7);
    std::vector<uint8_t> junk(4096);
    for (auto& b : junk) b = uint8_t(rng());
    junk[0] = 0x12;  // not a JPEG/PNG signature by chance
    expect_decode_error(write_temp("junk.jpg", junk), {"not a JPEG or PNG"});
}

TEST(ImageDecode, OtherFormatsAreNamed) {
    const std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0};
    expect_decode_error(write_temp("anim.gif", gif), {"GIF", "not supported"});
    const std::vector<uint8_t> bmp = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0};
    expect_decode_error(write_temp("x.bmp", bmp), {"BMP"});
}

TEST(ImageDecode, NonexistentPathAndDirectory) {
    expect_decode_error(vitrt::test::temp_dir() + "/no_such_file.jpg", {"cannot open"});
    expect_decode_error(vitrt::test::temp_dir(), {"directory"});
}

TEST(ImageDecode, TruncatedJpeg) {
    const std::vector<uint8_t> full = encode_rgb_jpeg(160, 120);
    for (size_t keep : {full.size() / 2, size_t(3), size_t(200), full.size() - 40}) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + long(keep));
        expect_decode_error(write_temp("cut_" + std::to_string(keep) + ".jpg", cut),
                            {"truncated JPEG"});
    }
    // Progressive: libjpeg reads every scan up front, so truncation shows at start.
    const std::vector<uint8_t> prog =
        vitrt::test::encode_jpeg(vitrt::test::pattern(160, 120, 3), 160, 120, JCS_RGB, JCS_YCbCr,
                                 false, /*progressive=*/true);
    std::vector<uint8_t> cut(prog.begin(), prog.begin() + long(prog.size() / 2));
    expect_decode_error(write_temp("cut_progressive.jpg", cut), {"truncated JPEG"});
}

TEST(ImageDecode, TruncatedPng) {
    const std::vector<uint8_t> full = encode_rgb_png(150, 100);
    for (size_t keep : {full.size() / 2, size_t(8), size_t(20), full.size() - 30}) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + long(keep));
        expect_decode_error(write_temp("cut_" + std::to_string(keep) + ".png", cut),
                            {"truncated PNG"});
    }
}

TEST(ImageDecode, AbsurdDimensionsRejectedBeforeAllocation) {
    expect_decode_error(write_temp("huge.png", encode_rgb_png(4, 4, 1, 100000, 100000)),
                        {"too large", "100000x100000"});
    expect_decode_error(write_temp("wide.png", encode_rgb_png(4, 4, 1, 40000, 2)), {"too large"});
    // 20000 x 20000 is within the per-side limit but over 2^28 pixels.
    expect_decode_error(write_temp("big.png", encode_rgb_png(4, 4, 1, 20000, 20000)),
                        {"too large"});
    // The same for a JPEG whose SOF0 claims 40000 x 40000.
    std::vector<uint8_t> j = encode_rgb_jpeg(16, 16);
    size_t sof = 0;
    for (size_t i = 2; i + 9 < j.size(); ++i)
        if (j[i] == 0xFF && j[i + 1] == 0xC0) {
            sof = i;
            break;
        }
    ASSERT_NE(sof, 0u);
    j[sof + 5] = 0x9C;  // height 0x9C40 = 40000
    j[sof + 6] = 0x40;
    j[sof + 7] = 0x9C;  // width
    j[sof + 8] = 0x40;
    expect_decode_error(write_temp("huge.jpg", j), {"too large", "40000x40000"});
}

TEST(ImageDecode, CorruptPngHeader) {
    std::vector<uint8_t> p = encode_rgb_png(8, 8);
    p[20] ^= 0x55;  // inside IHDR: CRC mismatch
    expect_decode_error(write_temp("bad_crc.png", p), {"corrupt PNG"});
}

// Random damage to valid files: every outcome must be an image or a vitrt::Error.
TEST(ImageDecode, MutatedFilesNeverCrash) {
    std::mt19937 rng(42);
    const std::vector<std::vector<uint8_t>> seeds = {
        encode_rgb_jpeg(48, 40), encode_rgb_png(40, 30),
        vitrt::test::encode_jpeg(vitrt::test::pattern(40, 32, 3), 40, 32, JCS_RGB, JCS_YCbCr, false,
                                 true)};
    int decoded = 0, rejected = 0;
    for (int iter = 0; iter < 600; ++iter) {
        std::vector<uint8_t> d = seeds[size_t(iter) % seeds.size()];
        const int edits = 1 + int(rng() % 8);
        for (int e = 0; e < edits; ++e) {
            const size_t pos = rng() % d.size();
            switch (rng() % 4) {
                case 0: d[pos] = uint8_t(rng()); break;
                case 1: d[pos] ^= uint8_t(1u << (rng() % 8)); break;
                case 2: d.resize(std::max<size_t>(pos, 1)); break;
                default: d.insert(d.begin() + long(pos), uint8_t(rng())); break;
            }
        }
        try {
            const RgbImage img = decode_memory(d.data(), d.size(), "mutant");
            ASSERT_EQ(img.pixels.size(), size_t(img.width) * size_t(img.height) * 3);
            ++decoded;
        } catch (const Error& e) {
            ASSERT_NE(std::string(e.what()).find("mutant"), std::string::npos) << e.what();
            ++rejected;
        }
    }
    std::printf("[ mutants  ] %d decoded, %d rejected with vitrt::Error\n", decoded, rejected);
    EXPECT_GT(rejected, 0);
}

TEST(ImageInterp, Names) {
    EXPECT_EQ(parse_interp("bicubic"), Interp::bicubic);
    EXPECT_EQ(parse_interp("bilinear"), Interp::bilinear);
    EXPECT_EQ(parse_interp("nearest"), Interp::nearest);
    EXPECT_STREQ(interp_name(Interp::bicubic), "bicubic");
    EXPECT_THROW(parse_interp("lanczos"), Error);
    EXPECT_THROW(parse_interp("Bicubic"), Error);
}

// The geometry below is worked out by hand from torchvision 0.14 / timm 1.0 formulas.
TEST(ImagePlan, CenterModeTorchvisionResizeAndCrop) {
    PreprocessConfig cfg;
    cfg.crop_pct = 0.9;  // floor(224 / 0.9) = 248
    PreprocessPlan p = plan_preprocess(500, 375, cfg);
    EXPECT_EQ(p.resize_height, 248);
    EXPECT_EQ(p.resize_width, 330);  // int(248 * 500 / 375) = int(330.67)
    EXPECT_EQ(p.crop_left, 53);      // round(106 / 2)
    EXPECT_EQ(p.crop_top, 12);
    EXPECT_EQ(p.interp, Interp::bicubic);
    p = plan_preprocess(375, 500, cfg);  // portrait
    EXPECT_EQ(p.resize_width, 248);
    EXPECT_EQ(p.resize_height, 330);
    // Python's round() is half-to-even: (249 - 224) / 2 = 12.5 -> 12, 13.5 -> 14.
    cfg.crop_pct = 1.0;
    EXPECT_EQ(plan_preprocess(249, 224, cfg).crop_left, 12);
    EXPECT_EQ(plan_preprocess(251, 224, cfg).crop_left, 14);
    cfg.crop_pct = 0.875;  // floor(256.0) = 256
    EXPECT_EQ(plan_preprocess(300, 300, cfg).resize_width, 256);
    cfg.crop_pct = 0.95;  // floor(235.79) = 235
    EXPECT_EQ(plan_preprocess(300, 600, cfg).resize_width, 235);
    EXPECT_EQ(plan_preprocess(300, 600, cfg).resize_height, 470);
}

TEST(ImagePlan, TinyImageIsUpscaledAndCropPctAboveOnePads) {
    PreprocessConfig cfg;
    cfg.crop_pct = 0.9;
    PreprocessPlan p = plan_preprocess(5, 3, cfg);
    EXPECT_EQ(p.resize_height, 248);
    EXPECT_EQ(p.resize_width, 413);  // int(248 * 5 / 3)
    EXPECT_EQ(p.pad_left + p.pad_top + p.pad_right + p.pad_bottom, 0);
    cfg.crop_pct = 1.15;  // floor(224 / 1.15) = 194 < 224: torchvision pads with zeros
    p = plan_preprocess(400, 300, cfg);
    EXPECT_EQ(p.resize_height, 194);
    EXPECT_EQ(p.resize_width, 258);
    EXPECT_EQ(p.pad_top, 15);
    EXPECT_EQ(p.pad_bottom, 15);
    EXPECT_EQ(p.crop_left, 17);  // round(34 / 2)
    EXPECT_EQ(p.crop_top, 0);
}

TEST(ImagePlan, SquashBorderAndNonSquare) {
    PreprocessConfig cfg;
    cfg.crop_pct = 0.9;
    cfg.crop_mode = CropMode::squash;
    PreprocessPlan p = plan_preprocess(500, 375, cfg);
    EXPECT_EQ(p.resize_width, 248);
    EXPECT_EQ(p.resize_height, 248);
    EXPECT_EQ(p.crop_left, 12);
    cfg.crop_mode = CropMode::border;  // longest side to 248: 500 -> 248, 375 -> round(186.0) = 186
    p = plan_preprocess(500, 375, cfg);
    EXPECT_EQ(p.resize_width, 248);
    EXPECT_EQ(p.resize_height, 186);
    EXPECT_EQ(p.pad_top, 19);
    EXPECT_EQ(p.pad_bottom, 19);
    EXPECT_EQ(p.pad_fill[0], 124);  // round(255 * 0.485)
    // Non-square input: timm's ResizeKeepRatio, always bilinear.
    cfg.crop_mode = CropMode::center;
    cfg.input_height = 256;
    cfg.input_width = 320;  // scale (284, 355)
    p = plan_preprocess(500, 375, cfg);
    EXPECT_EQ(p.interp, Interp::bilinear);
    EXPECT_EQ(p.resize_height, 284);  // ratio = min(375/284, 500/355) = 1.3204
    EXPECT_EQ(p.resize_width, 379);   // round(378.67)
}

TEST(ImagePlan, InvalidConfigsThrow) {
    PreprocessConfig cfg;
    cfg.crop_pct = 0;
    EXPECT_THROW(plan_preprocess(10, 10, cfg), Error);
    cfg.crop_pct = 0.9;
    EXPECT_THROW(parse_crop_mode("random"), Error);
    cfg.crop_mode = CropMode::center;
    cfg.input_width = 0;
    EXPECT_THROW(plan_preprocess(10, 10, cfg), Error);
    cfg.input_width = 224;
    EXPECT_THROW(plan_preprocess(0, 10, cfg), Error);
    RgbImage bad;
    bad.width = 3;
    bad.height = 3;
    std::vector<float> out(3 * 224 * 224);
    EXPECT_THROW(preprocess(bad, cfg, out.data()), Error);
}

TEST(ImageResize, SameSizeIsACopyAndConstantStaysConstant) {
    RgbImage img;
    img.width = 31;
    img.height = 17;
    img.pixels = vitrt::test::pattern(31, 17, 3);
    for (Interp m : {Interp::nearest, Interp::bilinear, Interp::bicubic})
        EXPECT_EQ(resize(img, 31, 17, m).pixels, img.pixels);
    img.pixels.assign(img.pixels.size(), 77);
    for (Interp m : {Interp::nearest, Interp::bilinear, Interp::bicubic})
        for (auto [w, h] : {std::pair{5, 40}, std::pair{100, 3}, std::pair{31, 60}}) {
            const RgbImage r = resize(img, w, h, m);
            for (uint8_t v : r.pixels) ASSERT_EQ(v, 77) << interp_name(m) << " " << w << "x" << h;
        }
}

TEST(ImageResize, RegionEqualsCropOfFullResize) {
    std::mt19937 rng(3);
    RgbImage img;
    img.width = 83;
    img.height = 59;
    img.pixels = vitrt::test::pattern(83, 59, 3, 9);
    for (int iter = 0; iter < 60; ++iter) {
        const Interp m = Interp(iter % 3);
        const int ow = 1 + int(rng() % 200), oh = 1 + int(rng() % 150);
        const RgbImage full = resize(img, ow, oh, m);
        const int x0 = int(rng() % unsigned(ow)), y0 = int(rng() % unsigned(oh));
        const int w = 1 + int(rng() % unsigned(ow - x0)), h = 1 + int(rng() % unsigned(oh - y0));
        const RgbImage win = resize_region(img, ow, oh, m, x0, y0, w, h);
        for (int y = 0; y < h; ++y)
            ASSERT_EQ(0, std::memcmp(&win.pixels[size_t(y) * w * 3],
                                     &full.pixels[(size_t(y0 + y) * ow + x0) * 3], size_t(w) * 3))
                << interp_name(m) << " " << ow << "x" << oh << " window " << w << "x" << h << "+"
                << x0 << "+" << y0;
    }
    EXPECT_THROW(resize_region(img, 10, 10, Interp::bicubic, 5, 5, 6, 1), Error);
    EXPECT_THROW(resize(img, 0, 10, Interp::bicubic), Error);
}

TEST(ImagePreprocess, ConstantImageNormalisesLikeTorch) {
    RgbImage img;
    img.width = 300;
    img.height = 200;
    img.pixels.assign(size_t(300 * 200 * 3), 200);
    PreprocessConfig cfg;  // ImageNet mean/std
    std::vector<float> out(3 * 224 * 224);
    preprocess(img, cfg, out.data());
    for (int c = 0; c < 3; ++c) {
        const float expect = (200.0f / 255.0f - cfg.mean[c]) / cfg.std[c];
        EXPECT_EQ(out[size_t(c) * 224 * 224], expect);
        EXPECT_EQ(out[size_t(c) * 224 * 224 + 224 * 224 - 1], expect);
    }
}

// The exact inputs the stored ViT-Ti/16 logits were computed from (PIL bicubic 248, centre crop
// 224, mean = std = 0.5), against our decode + preprocess of the same photos.
TEST(ImagePreprocess, MatchesStoredReferenceInputs) {
    VITRT_REQUIRE_SHARED_DATA();
    const std::string data = vitrt::test::shared_data();
    const std::pair<const char*, const char*> cases[] = {
        {"images/pytorch_hub/dog.jpg", "dog"},
        {"images/vitcpp_assets/tench.jpg", "tench"},
        {"images/imagenet_selected/n01514668_10054.JPEG", "n01514668_10054"},
    };
    PreprocessConfig cfg;
    cfg.crop_pct = 0.9;
    cfg.interp = Interp::bicubic;
    for (int c = 0; c < 3; ++c) cfg.mean[c] = cfg.std[c] = 0.5f;
    for (const auto& [image, stem] : cases) {
        const std::string ref_path =
            data + "/reference/vit_tiny_patch16_224/" + stem + ".input_3x224x224.f32";
        const std::vector<float> ref = vitrt::test::read_f32(ref_path);
        ASSERT_EQ(ref.size(), size_t(3 * 224 * 224)) << ref_path;
        std::vector<float> got(ref.size());
        preprocess(decode_file(data + "/" + image), cfg, got.data());
        double max_diff = 0;
        for (size_t i = 0; i < ref.size(); ++i)
            max_diff = std::max(max_diff, double(std::fabs(got[i] - ref[i])));
        std::printf("[ reference] %-45s max |ours - stored input| = %.3g\n", image, max_diff);
        // One 8-bit step is 2/255 = 0.0078 here; we expect an exact match.
        EXPECT_LE(max_diff, 1e-6) << image;
    }
}
