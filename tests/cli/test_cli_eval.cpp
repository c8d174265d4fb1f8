// `vitrt eval` end to end: labelled sets from a CSV and from class folders, the timm-named results
// file, --reference-model, and bad input (malformed CSV rows: a clear error; missing or unreadable
// images: counted and reported, the rest still evaluated).
//
// Tolerances and why:
// - accuracy counts are exact (integers); on ../shared/data they must equal docs/accuracy.md and
//   SOURCES.md (PyTorch): 108/122 top-1 on every labelled image, 103/117 top-1 and 116/117 top-5
//   on imagenet_sample_1per10 + imagenet_selected (all 14 PyTorch misses are in the former).
// - loss vs the mean cross-entropy of PyTorch's logits (reference/vit_tiny_patch16_224): 1e-3
//   absolute; the logits agree within ~3e-5 (docs/accuracy.md), so the loss does to ~1e-5.
// - --reference-model with the same model: the same computation twice, so agreement is 100 % and
//   cosine 1 up to float rounding (>= 1 - 1e-9).
#include <gtest/gtest.h>

#include <cmath>
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

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f << bytes;
}

// The results object of `eval --json` (the last line starting with '{'; stderr lines come before).
nlohmann::json result_of(const std::string& out) {
    const auto at = out.rfind("\n{");
    return nlohmann::json::parse(at == std::string::npos ? out : out.substr(at + 1));
}

nlohmann::json read_json(const std::string& path) {
    std::ifstream f(path);
    return nlohmann::json::parse(f);
}

// The four bundled photos with an ImageNet class (polars.jpeg shows a giant panda) + one without.
std::string samples_csv() {
    const std::string s = samples();
    return "path,class_index,name\n" + s + "/tench.jpg,0,tench\n" + s + "/magpie.jpeg,18,magpie\n" + s +
           "/cheetah.jpg,293,cheetah\n" + s + "/polars.jpeg,388,\"giant panda, panda\"\n" + s + "/apple.jpg,-1,none\n";
}

TEST(CliEval, CsvOfSamplesWithResultsFile) {
    const std::string dir = test::temp_dir();
    write_file(dir + "/labels.csv", samples_csv());
    std::string out;
    ASSERT_EQ(test::run_command(cli() + " eval --labels-csv " + dir + "/labels.csv --batch 3 --results-file " + dir +
                                    "/r.json",
                                &out),
              0)
        << out;
    EXPECT_NE(out.find("top-1      100.0000 % (4)"), std::string::npos) << out;
    EXPECT_NE(out.find("eval: 4/4"), std::string::npos) << out;  // plain progress lines (stderr is a pipe)
    EXPECT_NE(out.find("1 unlabelled row(s) skipped"), std::string::npos) << out;
    const auto r = read_json(dir + "/r.json");
    for (const char* k : {"model", "top1", "top1_err", "top5", "top5_err", "loss", "param_count", "img_size", "crop_pct",
                          "interpolation", "images", "failed", "images_per_s", "model_images_per_s", "precision"})
        EXPECT_TRUE(r.contains(k)) << k << "\n" << r.dump(2);
    EXPECT_EQ(r["model"], "vit_tiny_patch16_224");
    EXPECT_EQ(r["images"], 4);
    EXPECT_EQ(r["failed"], 0);
    EXPECT_EQ(r["unlabelled_skipped"], 1);
    EXPECT_DOUBLE_EQ(r["top1"].get<double>(), 100.0);
    EXPECT_DOUBLE_EQ(r["top1_err"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(r["top5"].get<double>(), 100.0);
    EXPECT_DOUBLE_EQ(r["param_count"].get<double>(), 5.72);  // millions, as timm
    EXPECT_EQ(r["img_size"], 224);
    EXPECT_DOUBLE_EQ(r["crop_pct"].get<double>(), 0.9);
    EXPECT_EQ(r["interpolation"], "bicubic");
    // Confident, correct predictions (tench 0.97, cheetah 0.997, ...): small mean cross-entropy.
    EXPECT_GT(r["loss"].get<double>(), 0.0);
    EXPECT_LT(r["loss"].get<double>(), 0.2);
    EXPECT_GT(r["images_per_s"].get<double>(), 0.0);
    EXPECT_FALSE(r.contains("agreement_top1"));
}

TEST(CliEval, RelativeCsvPathsNumAndJson) {
    // Paths relative to the CSV's folder, or to its parent (shared/data's per-folder labels.csv).
    const std::string dir = test::temp_dir();
    fs::create_directory_symlink(samples(), dir + "/imgs");
    fs::create_directories(dir + "/sub");
    write_file(dir + "/top.csv", "imgs/tench.jpg,0\nimgs/cheetah.jpg,293\n");
    write_file(dir + "/sub/labels.csv", "path,class_index\nimgs/magpie.jpeg,18\nimgs/tench.jpg,0\nimgs/cheetah.jpg,5\n");
    std::string out;
    ASSERT_EQ(test::run_command(cli() + " eval --json --no-progress " + dir + "/top.csv", &out), 0) << out;
    auto r = result_of(out);
    EXPECT_EQ(r["images"], 2);
    EXPECT_EQ(r["top1_correct"], 2);
    ASSERT_EQ(test::run_command(cli() + " eval --json --no-progress " + dir + "/sub/labels.csv", &out), 0)
        << out;
    r = result_of(out);
    EXPECT_EQ(r["images"], 3);
    EXPECT_EQ(r["top1_correct"], 2);  // the cheetah is labelled 5 on purpose
    EXPECT_NEAR(r["top1"].get<double>(), 66.6667, 1e-4);
    // DATA paths with --labels-csv select rows; --num keeps that many, evenly spaced.
    ASSERT_EQ(test::run_command(cli() + " eval --json --no-progress --labels-csv " + dir + "/sub/labels.csv " + dir +
                                    "/imgs/tench.jpg",
                                &out),
              0);
    EXPECT_EQ(result_of(out)["images"], 1);
    ASSERT_EQ(test::run_command(cli() + " eval --json --no-progress --num 2 " + dir + "/sub/labels.csv", &out), 0);
    EXPECT_EQ(result_of(out)["images"], 2);
}

TEST(CliEval, SynsetFoldersMapToImagenetIndices) {
    // A subset of ImageNet's classes as synset folders: indices come from the 1000 sorted wnids,
    // not from the position among these four folders.
    const std::string dir = test::temp_dir();
    const std::pair<const char*, const char*> classes[] = {{"n01440764", "tench.jpg"},
                                                           {"n01582220", "magpie.jpeg"},
                                                           {"n02130308", "cheetah.jpg"},
                                                           {"n02510455", "polars.jpeg"}};
    for (const auto& [wnid, file] : classes) {
        fs::create_directories(dir + "/val/" + wnid);
        fs::copy_file(samples() + "/" + file, dir + "/val/" + wnid + "/" + file);
    }
    std::string out;
    ASSERT_EQ(test::run_command(cli() + " eval --json " + dir + "/val", &out), 0) << out;
    EXPECT_NE(out.find("4 ImageNet synset folders"), std::string::npos) << out;
    const auto r = result_of(out);
    EXPECT_EQ(r["images"], 4);
    EXPECT_EQ(r["top1_correct"], 4);

    // Folders that are not synsets: sorted position (ImageFolder); here "a" = 0 = tench.
    fs::create_directories(dir + "/plain/a");
    fs::create_directories(dir + "/plain/b");
    fs::copy_file(samples() + "/tench.jpg", dir + "/plain/a/x.jpg");
    fs::copy_file(samples() + "/magpie.jpeg", dir + "/plain/b/y.jpeg");
    ASSERT_EQ(test::run_command(cli() + " eval --json " + dir + "/plain", &out), 0) << out;
    EXPECT_NE(out.find("2 class folders, labelled by sorted position"), std::string::npos) << out;
    EXPECT_EQ(result_of(out)["top1_correct"], 1);

    // Images without class folders: told to give a CSV.
    EXPECT_EQ(test::run_command(cli() + " eval " + samples(), &out), 2);
    EXPECT_NE(out.find("has no class folders"), std::string::npos) << out;
    EXPECT_NE(out.find("--labels-csv"), std::string::npos) << out;
}

TEST(CliEval, ReferenceModelAgainstItself) {
    const std::string dir = test::temp_dir();
    write_file(dir + "/labels.csv", samples_csv());
    std::string out;
    ASSERT_EQ(test::run_command(cli() + " eval --no-progress --batch 2 --labels-csv " + dir + "/labels.csv " +
                                    "--reference-model " + test::source_dir() + "/models/vit_tiny_patch16_224 " +
                                    "--results-file " + dir + "/r.json",
                                &out),
              0)
        << out;
    EXPECT_NE(out.find("agreement  top-1 100.0000 % (4 of 4)"), std::string::npos) << out;
    const auto r = read_json(dir + "/r.json");
    EXPECT_DOUBLE_EQ(r["agreement_top1"].get<double>(), 100.0);
    EXPECT_GE(r["logit_cosine_min"].get<double>(), 1.0 - 1e-9);
    EXPECT_LE(r["logit_cosine_min"].get<double>(), 1.0 + 1e-9);
    EXPECT_GE(r["logit_cosine_mean"].get<double>(), 1.0 - 1e-9);
    ASSERT_TRUE(r.contains("reference"));
    EXPECT_EQ(r["reference"]["top1"], r["top1"]);
    EXPECT_EQ(r["reference"]["top5"], r["top5"]);
    EXPECT_NEAR(r["reference"]["loss"].get<double>(), r["loss"].get<double>(), 1e-6);
    EXPECT_EQ(r["reference"]["precision"], "f32");
}

TEST(CliEval, MalformedCsvIsAClearError) {
    const std::string dir = test::temp_dir();
    const std::string t = samples() + "/tench.jpg";
    struct Case {
        const char* name;
        std::string csv;
        const char* expect;
    } cases[] = {
        {"notint.csv", "path,class_index\n" + t + ",0\n" + t + ",zero\n", "notint.csv:3: class index 'zero' is not an integer"},
        {"range.csv", t + ",1000\n", "range.csv:1: class index 1000 is out of range: the model has 1000 classes"},
        {"fields.csv", "path,class_index\n" + t + "\n", "fields.csv:2: expected path,class_index"},
        {"header.csv", "file,label\n" + t + ",0\n", "header.csv:1: expected rows of path,class_index"},
        {"quote.csv", t + ",0\n\"" + t + ",0\n", "quote.csv:2: unterminated quoted field"},
        {"empty.csv", "path,class_index\n", "empty.csv: no labelled images"},
    };
    for (const auto& c : cases) {
        write_file(dir + "/" + c.name, c.csv);
        std::string out;
        EXPECT_EQ(test::run_command(cli() + " eval --labels-csv " + dir + "/" + c.name, &out), 2) << c.name << "\n" << out;
        EXPECT_NE(out.find(c.expect), std::string::npos) << c.name << "\n" << out;
    }
    std::string out;
    EXPECT_EQ(test::run_command(cli() + " eval --labels-csv " + dir + "/absent.csv", &out), 2);
    EXPECT_NE(out.find("absent.csv: cannot open the labels CSV"), std::string::npos) << out;
    EXPECT_EQ(test::run_command(cli() + " eval", &out), 2);
    EXPECT_NE(out.find("eval needs DATA"), std::string::npos) << out;
}

TEST(CliEval, MissingAndBrokenImagesAreCountedNotFatal) {
    const std::string dir = test::temp_dir();
    write_file(dir + "/broken.jpg", "not a jpeg\n");
    write_file(dir + "/labels.csv", samples() + "/tench.jpg,0\n" + dir + "/missing.jpg,1\n" + dir + "/broken.jpg,2\n" +
                                        samples() + "/cheetah.jpg,293\n");
    std::string out;
    EXPECT_EQ(test::run_command(cli() + " eval --batch 3 --labels-csv " + dir + "/labels.csv --results-file " + dir +
                                    "/r.json",
                                &out),
              1)
        << out;
    EXPECT_NE(out.find("missing.jpg"), std::string::npos) << out;
    EXPECT_NE(out.find("broken.jpg"), std::string::npos) << out;
    EXPECT_NE(out.find("2 of 4 image(s) failed"), std::string::npos) << out;
    const auto r = read_json(dir + "/r.json");
    EXPECT_EQ(r["images"], 2);
    EXPECT_EQ(r["failed"], 2);
    EXPECT_EQ(r["top1_correct"], 2);
    ASSERT_EQ(r["failed_images"].size(), 2u);
    EXPECT_EQ(r["failed_images"][0]["image"], dir + "/missing.jpg");
}

// Mean cross-entropy, top-1 and top-5 counts of PyTorch's logits for the rows of labels.csv
// under `prefixes` (all labelled rows when empty).
struct Expected {
    int n = 0, top1 = 0, top5 = 0;
    double loss = 0;
};
Expected pytorch_scores(const std::vector<std::string>& prefixes) {
    Expected e;
    for (const auto& im : test::labelled_images()) {
        if (im.label < 0) continue;
        bool keep = prefixes.empty();
        for (const auto& p : prefixes) keep |= im.path.rfind(p, 0) == 0;
        if (!keep) continue;
        const auto l = test::read_f32(test::shared_data() + "/reference/vit_tiny_patch16_224/" +
                                      fs::path(im.path).stem().string() + ".logits.f32");
        double mx = l[0], s = 0;
        for (float v : l) mx = std::max(mx, double(v));
        for (float v : l) s += std::exp(double(v) - mx);
        e.loss += std::log(s) + mx - l[size_t(im.label)];
        int above = 0;
        for (size_t j = 0; j < l.size(); ++j) above += l[j] > l[size_t(im.label)];
        e.top1 += above == 0;
        e.top5 += above < 5;
        ++e.n;
    }
    e.loss /= e.n;
    return e;
}

TEST(CliEval, RealVitTinyMatchesPyTorchOnSharedImages) {
    VITRT_REQUIRE_SHARED_DATA();
    const std::string images = test::shared_data() + "/images";
    const std::string model = test::shared_data() + "/models/vit_tiny_patch16_224";
    std::string out;
    // imagenet_sample_1per10 + imagenet_selected: 117 labelled images.
    ASSERT_EQ(test::run_command(cli() + " eval --json --no-progress --batch 8 --model " + model + " --labels-csv " +
                                    images + "/labels.csv " + images + "/imagenet_sample_1per10 " + images +
                                    "/imagenet_selected",
                                &out),
              0)
        << out;
    auto r = result_of(out);
    auto e = pytorch_scores({"imagenet_sample_1per10/", "imagenet_selected/"});
    ASSERT_EQ(e.n, 117);
    EXPECT_EQ(r["images"], 117);
    EXPECT_EQ(e.top1, 103);
    EXPECT_EQ(r["top1_correct"], 103);
    EXPECT_EQ(r["top5_correct"], 116);
    EXPECT_EQ(r["top5_correct"], e.top5);
    EXPECT_NEAR(r["loss"].get<double>(), e.loss, 1e-3);
    std::printf("117 images: top1 %.4f %%, top5 %.4f %%, loss %.6f (PyTorch logits: %.6f)\n", r["top1"].get<double>(),
                r["top5"].get<double>(), r["loss"].get<double>(), e.loss);

    // Every labelled image: docs/accuracy.md's 108/122.
    ASSERT_EQ(test::run_command(cli() + " eval --json --no-progress --batch 8 --model " + model + " " + images +
                                    "/labels.csv",
                                &out),
              0)
        << out;
    r = result_of(out);
    e = pytorch_scores({});
    EXPECT_EQ(r["images"], 122);
    EXPECT_EQ(r["top1_correct"], 108);
    EXPECT_EQ(r["top1_correct"], e.top1);
    EXPECT_EQ(r["top5_correct"], e.top5);
    EXPECT_NEAR(r["loss"].get<double>(), e.loss, 1e-3);
}

}  // namespace
}  // namespace vitrt
