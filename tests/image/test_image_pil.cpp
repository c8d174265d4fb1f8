// The image module against the libraries it must match, run through Debian's /usr/bin/python3
// (Pillow 9.4 on the same system libjpeg62-turbo, torchvision 0.14, torch 1.13) by
// tests/py/image_reference.py:
//   decode      identical bytes to Image.open(f).convert("RGB")          (tolerance 0)
//   resize      identical bytes to PIL Image.resize, bicubic/bilinear/nearest (tolerance 0)
//   preprocess  the 8-bit crop identical to torchvision's (tolerance 0) and the float32 tensor
//               within 1e-6 of ToTensor + Normalize (expected: exactly equal; one 8-bit step
//               would be >= 1/255/std ~ 0.017)
//   damage      a truncated JPEG, or a corrupt PNG/JPEG, fails here exactly when it fails in PIL
// on all labelled photos of ../shared/data/images (when present) and on synthetic images made
// by the script (PIL and a small PNG writer) and here (libjpeg: CMYK without/with Adobe marker,
// YCCK, untransformed RGB).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/test_env.hpp"
#include "image/image.hpp"
#include "common/images.hpp"
#include "vitrt/error.hpp"

namespace fs = std::filesystem;
using namespace vitrt;
using namespace vitrt::image;

namespace {

struct ResizeCase {
    size_t image;
    int width, height;
    Interp interp;
    std::string out;
};

struct PreprocessCase {
    size_t image;
    PreprocessConfig cfg;
    std::string out_tensor, out_crop;
};

struct Reference {
    std::string dir;                   // where inputs and reference outputs live
    std::string error;                 // non-empty: the reference could not be produced
    std::vector<std::string> images;   // every decoded input
    std::vector<bool> is_shared;       // a labelled photo from ../shared/data
    std::vector<std::string> decoded;  // PIL's decode of images[i] (or .err)
    std::vector<std::string> damaged_images, damaged_decoded;  // truncated/corrupt files
    std::vector<ResizeCase> resizes;
    std::vector<PreprocessCase> preprocesses;
};

std::string fmt_floats(const float* v) {
    std::ostringstream s;
    s.precision(9);
    s << v[0] << "," << v[1] << "," << v[2];
    return s.str();
}

// PIL's decode written by the script, or its error text.
bool read_reference_image(const std::string& path, RgbImage* img, std::string* err) {
    if (fs::exists(path + ".err")) {
        const std::vector<uint8_t> e = vitrt::test::read_bytes(path + ".err");
        *err = std::string(e.begin(), e.end());
        return false;
    }
    if (!fs::exists(path)) {
        *err = "reference output missing: " + path;
        return false;
    }
    const std::vector<uint8_t> b = vitrt::test::read_bytes(path);
    if (b.size() < 8) {
        *err = "reference output missing or short: " + path;
        return false;
    }
    int32_t wh[2];
    std::memcpy(wh, b.data(), 8);
    img->width = wh[0];
    img->height = wh[1];
    img->pixels.assign(b.begin() + 8, b.end());
    return true;
}

std::vector<PreprocessConfig> extra_configs() {
    std::vector<PreprocessConfig> v;
    PreprocessConfig c;  // ImageNet mean/std, 0.875, bilinear
    c.interp = Interp::bilinear;
    v.push_back(c);
    c = PreprocessConfig();
    c.crop_pct = 1.0;
    v.push_back(c);
    c = PreprocessConfig();
    c.crop_pct = 0.95;
    c.crop_mode = image::CropMode::squash;
    v.push_back(c);
    c = PreprocessConfig();
    c.input_height = c.input_width = 384;
    c.crop_pct = 1.0;
    for (int i = 0; i < 3; ++i) c.mean[i] = c.std[i] = 0.5f;
    v.push_back(c);
    c = PreprocessConfig();  // non-square: timm's ResizeKeepRatio
    c.input_height = 256;
    c.input_width = 320;
    c.crop_pct = 0.9;
    v.push_back(c);
    c = PreprocessConfig();
    c.crop_pct = 0.9;
    c.crop_mode = image::CropMode::border;
    v.push_back(c);
    c = PreprocessConfig();
    c.interp = Interp::nearest;
    v.push_back(c);
    c = PreprocessConfig();  // smaller than the crop: torchvision pads with zeros
    c.crop_pct = 1.15;
    v.push_back(c);
    c = PreprocessConfig();
    c.crop_pct = 0.9;
    c.crop_mode = image::CropMode::squash;
    c.input_height = 160;
    c.input_width = 96;
    c.interp = Interp::bilinear;
    v.push_back(c);
    return v;
}

void add_libjpeg_images(const std::string& dir, std::vector<std::string>* names) {
    using vitrt::test::encode_jpeg;
    using vitrt::test::pattern;
    const auto cmyk = pattern(57, 43, 4, 11);
    const auto rgb = pattern(57, 43, 3, 12);
    const struct {
        const char* name;
        std::vector<uint8_t> bytes;
    } files[] = {
        {"cmyk_adobe_libjpeg.jpg", encode_jpeg(cmyk, 57, 43, JCS_CMYK, JCS_CMYK, true)},
        {"cmyk_plain_libjpeg.jpg", encode_jpeg(cmyk, 57, 43, JCS_CMYK, JCS_CMYK, false)},
        {"ycck_libjpeg.jpg", encode_jpeg(cmyk, 57, 43, JCS_CMYK, JCS_YCCK, true)},
        {"ycck_progressive_libjpeg.jpg", encode_jpeg(cmyk, 57, 43, JCS_CMYK, JCS_YCCK, true, true)},
        {"rgb_untransformed_libjpeg.jpg", encode_jpeg(rgb, 57, 43, JCS_RGB, JCS_RGB, true)},
        {"gray_progressive_libjpeg.jpg",
         encode_jpeg(pattern(57, 43, 1, 13), 57, 43, JCS_GRAYSCALE, JCS_GRAYSCALE, false, true)},
    };
    for (const auto& f : files) {
        vitrt::test::write_bytes(dir + "/" + f.name, f.bytes);
        names->push_back(f.name);
    }
}

bool run_script(const std::string& jobs, std::string* err) {
    const std::string script = vitrt::test::source_dir() + "/tests/py/image_reference.py";
    std::string out;
    const int rc = vitrt::test::run_command(
        vitrt::test::python_with_torch() + " " + script + " " + jobs, &out);
    if (rc != 0) *err = "image_reference.py failed (" + std::to_string(rc) + "):\n" + out;
    return rc == 0;
}

// Stage 1: inputs (synthetic + labelled photos + truncated copies) and PIL's decode of each.
Reference build_decode_stage() {
    Reference r;
    const std::string dir = r.dir = vitrt::test::temp_dir();
    const std::string synth = dir + "/synth";
    {
        std::ofstream(dir + "/jobs_synth.tsv") << "synth\t" << synth << "\n";
        if (!run_script(dir + "/jobs_synth.tsv", &r.error)) return r;
    }
    std::vector<std::string> names;
    {
        std::ifstream list(synth + "/list.txt");
        for (std::string n; std::getline(list, n);)
            if (!n.empty()) names.push_back(n);
        std::ifstream damaged(synth + "/damaged.txt");
        for (std::string n; std::getline(damaged, n);)
            if (!n.empty()) r.damaged_images.push_back(synth + "/" + n);
    }
    add_libjpeg_images(synth, &names);
    std::vector<std::string> jpegs;  // to truncate
    for (const auto& n : names) {
        r.images.push_back(synth + "/" + n);
        r.is_shared.push_back(false);
        if (n.size() > 4 && n.compare(n.size() - 4, 4, ".jpg") == 0)
            jpegs.push_back(r.images.back());
    }
    const std::string data = vitrt::test::shared_data();
    if (!data.empty()) {
        std::ifstream labels(data + "/images/labels.csv");
        std::string line;
        std::getline(labels, line);  // header
        while (std::getline(labels, line)) {
            const std::string rel = line.substr(0, line.find(','));
            if (rel.empty()) continue;
            r.images.push_back(data + "/images/" + rel);
            r.is_shared.push_back(true);
            jpegs.push_back(r.images.back());
        }
    }
    // Truncated JPEGs: without the EOI marker (PIL sometimes accepts these), and cut inside the
    // entropy-coded data.
    fs::create_directories(dir + "/cut");
    for (size_t i = 0; i < jpegs.size(); ++i) {
        const std::vector<uint8_t> b = vitrt::test::read_bytes(jpegs[i]);
        std::vector<size_t> keeps = {b.size() - 2};
        if (i % 8 == 0 || b.size() < 10000)
            keeps.insert(keeps.end(), {b.size() / 2, b.size() * 97 / 100});
        for (size_t keep : keeps) {
            const std::string p =
                dir + "/cut/" + std::to_string(i) + "_" + std::to_string(keep) + ".jpg";
            vitrt::test::write_bytes(p, b.data(), keep);
            r.damaged_images.push_back(p);
        }
    }

    for (const char* sub : {"/dec", "/res", "/pre"}) fs::create_directories(dir + sub);
    {
        std::ofstream jobs(dir + "/jobs_decode.tsv");
        for (size_t i = 0; i < r.images.size(); ++i) {
            r.decoded.push_back(dir + "/dec/" + std::to_string(i) + ".bin");
            jobs << "decode\t" << r.images[i] << "\t" << r.decoded.back() << "\n";
        }
        for (size_t i = 0; i < r.damaged_images.size(); ++i) {
            r.damaged_decoded.push_back(r.damaged_images[i] + ".bin");
            jobs << "decode\t" << r.damaged_images[i] << "\t" << r.damaged_decoded.back() << "\n";
        }
    }
    run_script(dir + "/jobs_decode.tsv", &r.error);
    return r;
}

// Stage 2: PIL resizes. Cases need the image size: PIL's decode (checked separately) gives it.
void add_resize_stage(Reference& r) {
    const std::string& dir = r.dir;
    std::ofstream jobs(dir + "/jobs_resize.tsv");
    for (size_t i = 0; i < r.images.size(); ++i) {
        RgbImage ref;
        std::string err;
        if (!read_reference_image(r.decoded[i], &ref, &err)) continue;
        const int w = ref.width, h = ref.height;
        auto add = [&](int ow, int oh, Interp m) {
            ResizeCase c{i, std::max(ow, 1), std::max(oh, 1), m,
                         dir + "/res/" + std::to_string(r.resizes.size()) + ".bin"};
            jobs << "resize\t" << r.images[i] << "\t" << c.width << "\t" << c.height << "\t"
                 << interp_name(m) << "\t" << c.out << "\n";
            r.resizes.push_back(c);
        };
        if (r.is_shared[i]) {
            const PreprocessPlan p = plan_preprocess(w, h, PreprocessConfig{.crop_pct = 0.9});
            add(p.resize_width, p.resize_height, Interp::bicubic);  // the model's own path
            add(w * 2 / 3 + 1, h / 2 + 1, Interp::bilinear);
            if (i % 4 == 0) add(w / 3 + 1, h * 2 / 3 + 5, Interp::nearest);
            if (i % 10 == 0) {
                add(w * 5 / 4, h + 17, Interp::bicubic);  // upscale
                add(w / 2, h, Interp::bilinear);          // horizontal pass only
                add(w, h / 3, Interp::bicubic);           // vertical pass only
                add(w * 3 / 2, h * 2, Interp::nearest);
            }
        } else {
            for (Interp m : {Interp::bicubic, Interp::bilinear, Interp::nearest}) {
                add(7, 5, m);
                add(w * 3, h * 2, m);
                add(w / 2 + 1, h * 3, m);
                add(w, h + 9, m);
                add(w + 11, h, m);
                add(1, 1, m);
                add(248, 211, m);
            }
        }
    }

    jobs.close();
    run_script(dir + "/jobs_resize.tsv", &r.error);
}

// Stage 3: the timm/torchvision eval transform.
void add_preprocess_stage(Reference& r) {
    const std::string& dir = r.dir;
    std::ofstream jobs(dir + "/jobs_preprocess.tsv");
    jobs.precision(17);  // crop_pct must reach Python as the same double
    PreprocessConfig vit_tiny;
    vit_tiny.crop_pct = 0.9;
    for (int c = 0; c < 3; ++c) vit_tiny.mean[c] = vit_tiny.std[c] = 0.5f;
    const std::vector<PreprocessConfig> extras = extra_configs();
    for (size_t i = 0; i < r.images.size(); ++i) {
        std::vector<PreprocessConfig> cfgs = {vit_tiny};
        if (!r.is_shared[i] || i % 6 == 0) cfgs.insert(cfgs.end(), extras.begin(), extras.end());
        for (const PreprocessConfig& cfg : cfgs) {
            const std::string base = dir + "/pre/" + std::to_string(r.preprocesses.size());
            PreprocessCase c{i, cfg, base + ".f32", base + ".crop"};
            jobs << "preprocess\t" << r.images[i] << "\t" << cfg.input_height << "\t"
                 << cfg.input_width << "\t" << cfg.crop_pct << "\t" << image::crop_mode_name(cfg.crop_mode) << "\t"
                 << interp_name(cfg.interp) << "\t" << fmt_floats(cfg.mean) << "\t"
                 << fmt_floats(cfg.std) << "\t" << c.out_tensor << "\t" << c.out_crop << "\n";
            r.preprocesses.push_back(c);
        }
    }
    jobs.close();
    run_script(dir + "/jobs_preprocess.tsv", &r.error);
}

// Each stage runs once per process, and only when a test needs it (ctest runs every test in a
// process of its own).
enum class Stage { decode, resize, preprocess };

const Reference& reference(Stage stage) {
    static Reference r = build_decode_stage();
    static bool resized = false, preprocessed = false;
    if (stage == Stage::resize && !resized && r.error.empty()) {
        add_resize_stage(r);
        resized = true;
    }
    if (stage == Stage::preprocess && !preprocessed && r.error.empty()) {
        add_preprocess_stage(r);
        preprocessed = true;
    }
    return r;
}

#define REQUIRE_REFERENCE(stage)             \
    VITRT_REQUIRE_TORCH();                   \
    const Reference& ref = reference(stage); \
    ASSERT_TRUE(ref.error.empty()) << ref.error

}  // namespace

TEST(ImagePil, DecodeIdentical) {
    REQUIRE_REFERENCE(Stage::decode);
    if (vitrt::test::shared_data().empty())
        std::printf("[ note     ] ../shared/data absent: synthetic images only\n");
    int compared[2] = {0, 0}, worst[2] = {0, 0};
    for (size_t i = 0; i < ref.images.size(); ++i) {
        RgbImage expect;
        std::string err;
        ASSERT_TRUE(read_reference_image(ref.decoded[i], &expect, &err))
            << ref.images[i] << ": PIL failed: " << err;
        RgbImage got;
        try {
            got = decode_file(ref.images[i]);
        } catch (const Error& e) {
            ADD_FAILURE() << e.what();
            continue;
        }
        const int d = vitrt::test::max_abs_diff(got, expect);
        EXPECT_EQ(d, 0) << ref.images[i] << " " << got.width << "x" << got.height << " vs PIL "
                        << expect.width << "x" << expect.height;
        const int k = ref.is_shared[i] ? 1 : 0;
        ++compared[k];
        worst[k] = std::max(worst[k], d);
    }
    std::printf("[ decode   ] %d labelled photos: max |ours - PIL| = %d; %d synthetic: %d\n",
                compared[1], worst[1], compared[0], worst[0]);
}

TEST(ImagePil, DamagedFilesFailExactlyWhenPilFails) {
    REQUIRE_REFERENCE(Stage::decode);
    int both_ok = 0, both_fail = 0;
    for (size_t i = 0; i < ref.damaged_images.size(); ++i) {
        RgbImage expect;
        std::string pil_err;
        const bool pil_ok = read_reference_image(ref.damaged_decoded[i], &expect, &pil_err);
        std::string our_err;
        RgbImage got;
        try {
            got = decode_file(ref.damaged_images[i]);
        } catch (const Error& e) {
            our_err = e.what();
        }
        EXPECT_EQ(pil_ok, our_err.empty())
            << ref.damaged_images[i] << "\n  PIL: " << (pil_ok ? "ok" : pil_err)
            << "\n  ours: " << (our_err.empty() ? "ok" : our_err);
        if (pil_ok && our_err.empty()) {
            EXPECT_EQ(vitrt::test::max_abs_diff(got, expect), 0) << ref.damaged_images[i];
            ++both_ok;
        } else if (!pil_ok && !our_err.empty()) {
            ++both_fail;
        }
    }
    std::printf(
        "[ damaged  ] %zu truncated/corrupt files: %d decode in both (identical), %d fail "
        "in both\n",
        ref.damaged_images.size(), both_ok, both_fail);
}

TEST(ImagePil, ResizeIdentical) {
    REQUIRE_REFERENCE(Stage::resize);
    int worst[3] = {0, 0, 0}, count[3] = {0, 0, 0};
    size_t loaded = size_t(-1);
    RgbImage src;
    for (const ResizeCase& c : ref.resizes) {
        if (c.image != loaded) {
            src = decode_file(ref.images[c.image]);
            loaded = c.image;
        }
        RgbImage expect;
        std::string err;
        ASSERT_TRUE(read_reference_image(c.out, &expect, &err)) << err;
        const RgbImage got = resize(src, c.width, c.height, c.interp);
        const int d = vitrt::test::max_abs_diff(got, expect);
        EXPECT_EQ(d, 0) << ref.images[c.image] << " " << src.width << "x" << src.height << " -> "
                        << c.width << "x" << c.height << " " << interp_name(c.interp);
        worst[int(c.interp)] = std::max(worst[int(c.interp)], d);
        ++count[int(c.interp)];
    }
    std::printf(
        "[ resize   ] max |ours - PIL|: bicubic %d (%d cases), bilinear %d (%d), "
        "nearest %d (%d)\n",
        worst[2], count[2], worst[1], count[1], worst[0], count[0]);
}

TEST(ImagePil, PreprocessMatchesTorchvision) {
    REQUIRE_REFERENCE(Stage::preprocess);
    double worst_tensor = 0;
    int worst_crop = 0;
    size_t loaded = size_t(-1);
    RgbImage src;
    for (const PreprocessCase& c : ref.preprocesses) {
        if (c.image != loaded) {
            src = decode_file(ref.images[c.image]);
            loaded = c.image;
        }
        const std::string what = ref.images[c.image] + " " + std::to_string(c.cfg.input_height) +
                                 "x" + std::to_string(c.cfg.input_width) + " crop_pct " +
                                 std::to_string(c.cfg.crop_pct) + " " + image::crop_mode_name(c.cfg.crop_mode) + " " +
                                 interp_name(c.cfg.interp);
        RgbImage expect_crop;
        std::string err;
        ASSERT_TRUE(read_reference_image(c.out_crop, &expect_crop, &err)) << what << ": " << err;
        const int dc = vitrt::test::max_abs_diff(resize_and_crop(src, c.cfg), expect_crop);
        EXPECT_EQ(dc, 0) << what;
        worst_crop = std::max(worst_crop, dc);

        const std::vector<float> expect = vitrt::test::read_f32(c.out_tensor);
        std::vector<float> got(size_t(3) * c.cfg.input_height * c.cfg.input_width);
        ASSERT_EQ(expect.size(), got.size()) << what;
        preprocess(src, c.cfg, got.data());
        double d = 0;
        for (size_t k = 0; k < got.size(); ++k)
            d = std::max(d, double(std::fabs(got[k] - expect[k])));
        EXPECT_LE(d, 1e-6) << what;
        worst_tensor = std::max(worst_tensor, d);
    }
    std::printf(
        "[ preproc  ] %zu cases: crop max |ours - torchvision| = %d, tensor max |diff| = "
        "%.3g\n",
        ref.preprocesses.size(), worst_crop, worst_tensor);
}
