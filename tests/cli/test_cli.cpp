// The `vitrt` command line, end to end, on the bundled model and sample photos (no shared data
// needed): output formats, batching, and bad input handled per image without losing the rest.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/test_env.hpp"

namespace fs = std::filesystem;

namespace vitrt {
namespace {

std::string cli() { return test::cli_path(); }
std::string samples() { return test::samples_dir(); }

std::vector<nlohmann::json> json_lines(const std::string& out) {
    std::vector<nlohmann::json> v;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty() && line[0] == '{') v.push_back(nlohmann::json::parse(line));
    return v;
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f << bytes;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(Cli, ClassifiesBundledSamplesWithDefaultModel) {
    std::string out;
    ASSERT_EQ(test::run_command(cli() + " classify " + samples(), &out), 0) << out;
    EXPECT_NE(out.find("tench.jpg\n  0.9676  tench (0)"), std::string::npos) << out;
    EXPECT_NE(out.find("giant panda (388)"), std::string::npos);
    EXPECT_NE(out.find("magpie (18)"), std::string::npos);
}

TEST(Cli, JsonWithLogitsAndTopK) {
    std::string out;
    ASSERT_EQ(test::run_command(cli() + " classify --json --logits --top-k 3 " + samples() + "/cheetah.jpg " +
                                    samples() + "/tench.jpg 2>/dev/null", &out), 0) << out;
    const auto lines = json_lines(out);
    ASSERT_EQ(lines.size(), 2u) << out;
    EXPECT_EQ(lines[0]["image"], samples() + "/cheetah.jpg");
    ASSERT_EQ(lines[0]["top_k"].size(), 3u);
    EXPECT_EQ(lines[0]["top_k"][0]["index"], 293);
    EXPECT_EQ(lines[0]["top_k"][0]["label"], "cheetah");
    EXPECT_NEAR(lines[0]["top_k"][0]["prob"].get<double>(), 0.997, 1e-3);
    ASSERT_EQ(lines[1]["logits"].size(), 1000u);
    EXPECT_EQ(lines[1]["top_k"][0]["index"], 0);
}

TEST(Cli, BatchedEqualsSingle) {
    std::string one, many;
    ASSERT_EQ(test::run_command(cli() + " classify --json --logits --batch 1 " + samples() + " 2>/dev/null", &one), 0);
    ASSERT_EQ(test::run_command(cli() + " classify --json --logits --batch 4 --threads 2 " + samples() + " 2>/dev/null", &many), 0);
    const auto a = json_lines(one), b = json_lines(many);
    ASSERT_EQ(a.size(), 9u);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i]["image"], b[i]["image"]);
        EXPECT_EQ(a[i]["top_k"][0]["index"], b[i]["top_k"][0]["index"]);
        for (size_t k = 0; k < 1000; ++k)
            ASSERT_NEAR(a[i]["logits"][k].get<double>(), b[i]["logits"][k].get<double>(), 1e-4) << a[i]["image"];
    }
}

TEST(Cli, BadImagesGetAnErrorLineAndTheRestAreClassified) {
    const std::string dir = test::temp_dir();
    const std::string jpeg = read_file(samples() + "/tench.jpg");
    write_file(dir + "/a_truncated.jpg", jpeg.substr(0, jpeg.size() / 3));
    write_file(dir + "/b_empty.jpg", "");
    write_file(dir + "/c_text.png", "this is not an image\n");
    fs::copy_file(samples() + "/magpie.jpeg", dir + "/d_good.jpeg");
    std::string out;
    const int rc = test::run_command(cli() + " classify --json --batch 3 " + dir + " " + dir + "/missing.jpg", &out);
    EXPECT_NE(rc, 0) << out;
    const auto lines = json_lines(out);
    ASSERT_EQ(lines.size(), 5u) << out;
    int errors = 0;
    for (const auto& l : lines) {
        if (l.contains("error")) {
            ++errors;
            EXPECT_NE(l["error"].get<std::string>().find(l["image"].get<std::string>()), std::string::npos) << l.dump();
        } else {
            EXPECT_EQ(l["image"], dir + "/d_good.jpeg");
            EXPECT_EQ(l["top_k"][0]["label"], "magpie");
        }
    }
    EXPECT_EQ(errors, 4);
    EXPECT_NE(out.find("error: "), std::string::npos);  // human-readable line on stderr
}

TEST(Cli, LabelsFile) {
    const std::string dir = test::temp_dir();
    std::string labels;
    for (int i = 0; i < 1000; ++i) labels += "L" + std::to_string(i) + "\n";
    write_file(dir + "/ok.txt", labels);
    write_file(dir + "/short.txt", "a\nb\n");
    std::string out;
    ASSERT_EQ(test::run_command(cli() + " classify --labels " + dir + "/ok.txt " + samples() + "/tench.jpg", &out), 0);
    EXPECT_NE(out.find("L0 (0)"), std::string::npos) << out;
    EXPECT_EQ(test::run_command(cli() + " classify --labels " + dir + "/short.txt " + samples() + "/tench.jpg", &out), 2);
    EXPECT_NE(out.find("has 2 labels, the model has 1000 classes"), std::string::npos) << out;
}

TEST(Cli, InfoDescribesTheModel) {
    std::string out;
    ASSERT_EQ(test::run_command(cli() + " info", &out), 0) << out;
    for (const char* s : {"vit_tiny_patch16_224", "embed_dim             192", "depth                 12",
                          "heads                 3 x 64", "patch                 16", "197 (14x14 patches + 1 prefix)",
                          "pooling               token", "5717416", "storage dtype  f32", "bicubic", "crop_pct 0.9",
                          "(0.5, 0.5, 0.5)"})
        EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
    ASSERT_EQ(test::run_command(cli() + " info --json 2>/dev/null", &out), 0);
    const auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j["parameters"], 5717416);
    EXPECT_EQ(j["depth"], "12");
}

TEST(Cli, BadModelAndFlagsFailCleanly) {
    const std::string dir = test::temp_dir();
    write_file(dir + "/broken.safetensors", std::string("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":", 13));
    std::string out;
    EXPECT_EQ(test::run_command(cli() + " info --model " + dir + "/broken.safetensors", &out), 2);
    EXPECT_NE(out.find("broken.safetensors"), std::string::npos) << out;
    EXPECT_EQ(test::run_command(cli() + " info --model " + dir + "/nothing_here", &out), 2);
    EXPECT_NE(out.find("no such file"), std::string::npos) << out;
    EXPECT_NE(test::run_command(cli() + " classify --top-k 0 " + samples(), &out), 0);
    EXPECT_NE(test::run_command(cli() + " classify --device tpu " + samples(), &out), 0);
    EXPECT_NE(out.find("unknown device"), std::string::npos) << out;
    EXPECT_NE(test::run_command(cli() + " classify", &out), 0);
}

}  // namespace
}  // namespace vitrt
