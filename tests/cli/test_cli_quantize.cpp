// `vitrt quantize` end to end on the bundled ViT-Ti/16 and sample photos: the file it writes loads
// everywhere and `vitrt info` describes it; the same inputs give a byte-identical file (run twice,
// and with 1 vs 2 threads); bad flags and inputs end with a message naming the flag, exit status 2.
//
// Determinism is exact (bytes). Classify on a quantized file: the top-1 label of the clear sample
// photos (tench 0.97, cheetah 0.997 in f32) must survive quantization; nothing else is compared here
// (accuracy is measured on real sets: scripts/quant_accuracy.sh, docs/quantization.md).
#include <gtest/gtest.h>

#include <filesystem>

#include "common/io_files.hpp"
#include "common/test_env.hpp"

namespace fs = std::filesystem;

namespace vitrt {
namespace {

using test::contains;

// Static w8a8 on 4 photos with the sensitivity pass (the slowest, most threaded path).
std::string static_flags() {
    return " quantize --calib " + test::samples_dir() + " --num 4 --scheme w8a8 --method mse --auto-float 2 --auto-dynamic 1 "
           "--sensitivity-images 2 --batch 2 ";
}

TEST(CliQuantize, SameInputsGiveTheSameBytesWhateverTheThreads) {
    const std::string dir = test::temp_dir();
    std::string out;
    ASSERT_EQ(test::run_command(test::cli_path() + static_flags() + "--threads 1 -o " + dir + "/a.safetensors", &out), 0) << out;
    EXPECT_TRUE(contains(out, "45 linear layers w8a8, 1 w8a8-dynamic (blocks."))
        << out;  // the third most sensitive layer
    EXPECT_TRUE(contains(out, "4 kept in float (patch_embed.proj.weight, head.weight, blocks."))
        << out;  // the patch embedding and the head by default, and the two most sensitive
    ASSERT_EQ(test::run_command(test::cli_path() + static_flags() + "--threads 1 -o " + dir + "/b.safetensors", &out), 0) << out;
    ASSERT_EQ(test::run_command(test::cli_path() + static_flags() + "--threads 2 -o " + dir + "/c.safetensors", &out), 0) << out;
    const std::string a = test::io::read_bytes(dir + "/a.safetensors");
    EXPECT_GT(a.size(), 1000000u);
    EXPECT_TRUE(a == test::io::read_bytes(dir + "/b.safetensors")) << "two runs, same flags: files differ";
    EXPECT_TRUE(a == test::io::read_bytes(dir + "/c.safetensors")) << "1 vs 2 threads: files differ";

    // Weight-only needs no calibration images; also deterministic.
    ASSERT_EQ(test::run_command(test::cli_path() + " quantize --scheme w4 -o " + dir + "/w4a.safetensors", &out), 0) << out;
    ASSERT_EQ(test::run_command(test::cli_path() + " quantize --scheme w4 --threads 1 -o " + dir + "/w4b.safetensors", &out), 0)
        << out;
    EXPECT_TRUE(test::io::read_bytes(dir + "/w4a.safetensors") == test::io::read_bytes(dir + "/w4b.safetensors"));
}

TEST(CliQuantize, InfoAndClassifyOnTheFile) {
    const std::string dir = test::temp_dir();
    std::string out;
    ASSERT_EQ(test::run_command(test::cli_path() + static_flags() + "-o " + dir + "/s.safetensors", &out), 0) << out;
    ASSERT_EQ(test::run_command(test::cli_path() + " info --model " + dir + "/s.safetensors", &out), 0) << out;
    EXPECT_TRUE(contains(out, "quantization          quantized-v1: w8a8 (static), calibration mse on 4 images")) << out;
    EXPECT_TRUE(contains(out, "kept_float            4: ")) << out;
    EXPECT_TRUE(contains(out, "patch_embed.proj.weight")) << out;
    EXPECT_TRUE(contains(out, "head.weight")) << out;
    EXPECT_TRUE(contains(out, "4 x f32, 45 x w8a8, 1 x w8a8-dynamic")) << out;
    ASSERT_EQ(test::run_command(test::cli_path() + " classify --model " + dir + "/s.safetensors " + test::samples_dir() + "/tench.jpg " +
                                    test::samples_dir() + "/cheetah.jpg",
                                &out),
              0)
        << out;
    EXPECT_TRUE(contains(out, "tench (0)")) << out;
    EXPECT_TRUE(contains(out, "cheetah (293)")) << out;

    ASSERT_EQ(test::run_command(test::cli_path() + " quantize --scheme w4 --group 64 -o " + dir + "/w4.safetensors", &out), 0) << out;
    ASSERT_EQ(test::run_command(test::cli_path() + " info --model " + dir + "/w4.safetensors", &out), 0) << out;
    EXPECT_TRUE(contains(out, "quantized-v1: w4, group size 64")) << out;
    EXPECT_TRUE(contains(out, "48 x w4")) << out;
    EXPECT_TRUE(contains(out, "kept_float            2: patch_embed.proj.weight head.weight")) << out;
}

TEST(CliQuantize, BadFlagsAndInputsAreClearErrors) {
    const std::string dir = test::temp_dir();
    const std::string o = " -o " + dir + "/x.safetensors";
    struct Case {
        std::string args;
        std::vector<std::string> expect;
    } cases[] = {
        {"--scheme w3 --calib " + test::samples_dir(), {"--scheme 'w3'", "w8a8", "w4"}},
        {"--scheme bf16", {"--scheme 'bf16'", "float precision"}},
        {"--scheme w4 --group 48", {"--group 48", "power of two"}},
        {"--scheme w8 --group 2048", {"--group 2048"}},
        {"--scheme w8a8", {"w8a8", "--calib"}},
        {"--scheme w8 --auto-float 2", {"--auto-float", "--calib"}},
        {"--scheme w8a8 --calib " + dir + "/absent", {dir + "/absent", "no such file"}},
        {"--scheme w8a8 --method median --calib " + test::samples_dir(), {"median", "minmax, percentile, mse"}},
        {"--scheme w8a8 --calib " + test::samples_dir() + " --keep-float blocks.99.", {"--keep-float 'blocks.99.'"}},
    };
    for (const auto& c : cases) {
        std::string out;
        EXPECT_EQ(test::run_command(test::cli_path() + " quantize " + c.args + o, &out), 2) << c.args << "\n" << out;
        for (const auto& e : c.expect) EXPECT_TRUE(contains(out, e)) << c.args << ": '" << e << "' not in\n" << out;
    }
    // An empty calibration directory, and one whose images are all unreadable.
    fs::create_directories(dir + "/empty");
    std::string out;
    EXPECT_EQ(test::run_command(test::cli_path() + " quantize --scheme w8a8 --calib " + dir + "/empty" + o, &out), 2) << out;
    EXPECT_TRUE(contains(out, dir + "/empty: no .jpg, .jpeg or .png images")) << out;
    fs::create_directories(dir + "/broken");
    test::io::write_bytes(dir + "/broken/a.jpg", "not a jpeg");
    EXPECT_EQ(test::run_command(test::cli_path() + " quantize --scheme w8a8 --calib " + dir + "/broken" + o, &out), 2) << out;
    EXPECT_TRUE(contains(out, "none of the 1 calibration images could be read")) << out;
    EXPECT_TRUE(contains(out, "a.jpg")) << out;
    EXPECT_FALSE(fs::exists(dir + "/x.safetensors"));
}

TEST(CliQuantize, GroupSizeAtLoad) {
    // --group changes the w4 weights quantized at load (default 32): other logits, same label.
    std::string g32, g128, out;
    const std::string img = " " + test::samples_dir() + "/tench.jpg";
    ASSERT_EQ(test::run_command(test::cli_path() + " classify --json --logits --precision w4" + img + " 2>/dev/null", &g32), 0) << g32;
    ASSERT_EQ(test::run_command(test::cli_path() + " classify --json --logits --precision w4 --group 128" + img + " 2>/dev/null", &g128), 0)
        << g128;
    EXPECT_TRUE(contains(g32, "\"label\": \"tench\"")) << g32;
    EXPECT_TRUE(contains(g128, "\"label\": \"tench\"")) << g128;
    EXPECT_NE(g32, g128);
    ASSERT_EQ(test::run_command(test::cli_path() + " classify --json --logits --precision w4 --group 32" + img + " 2>/dev/null", &out), 0);
    EXPECT_EQ(out, g32);
    EXPECT_EQ(test::run_command(test::cli_path() + " classify --precision w4 --group 48" + img, &out), 2) << out;
    EXPECT_TRUE(contains(out, "group size 48")) << out;
}

TEST(CliQuantize, FastVitIsRefusedWithTheAlternative) {
    VITRT_REQUIRE_SHARED_DATA();
    const std::string model = test::shared_data() + "/reference/fastvit_t8/model.safetensors";
    const std::string dir = test::temp_dir();
    std::string out;
    EXPECT_EQ(test::run_command(test::cli_path() + " quantize --model " + model + " --scheme w8a8 --calib " + test::samples_dir() + " -o " +
                                    dir + "/f.safetensors",
                                &out),
              2)
        << out;
    EXPECT_TRUE(contains(out, "ViT-family")) << out;
    EXPECT_TRUE(contains(out, "--precision w8a8-dynamic, w8 or w4")) << out;
    // ... and the alternative it names works.
    EXPECT_EQ(test::run_command(test::cli_path() + " classify --precision w8a8-dynamic --model " + model + " " + test::samples_dir() +
                                    "/tench.jpg",
                                &out),
              0)
        << out;
}

}  // namespace
}  // namespace vitrt
