// `vitrt embed` end to end on the bundled model and sample photos: the .npy holds one row per
// readable image in input order (N x D, or N x T x D with --tokens), the file list beside it
// names them in the same order, unreadable images are skipped with an error and a non-zero
// status, and the rows equal Engine::run's embedding of each image alone.
//
// Tolerances: 1e-4 absolute wherever two computations of the same features are compared (rows
// vs the engine run on one image at a time; --tokens' class token vs the pooled embedding): the
// batch size, and for pooled outputs the last block run on the class token alone, change the GEMM
// shapes and so the summation order; features are O(1), so the differences are ~1e-6.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/io_files.hpp"
#include "common/test_env.hpp"
#include "io/npy.hpp"
#include "vitrt/vitrt.hpp"

namespace fs = std::filesystem;

namespace vitrt {
namespace {

std::string cli() { return test::cli_path(); }
std::string sample(const std::string& f) { return test::source_dir() + "/samples/" + f; }

HostTensor read_npy(const std::string& path) {
    auto bytes = std::make_shared<std::string>(test::io::read_bytes(path));
    return io::parse_npy(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), bytes, path);
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream f(path);
    std::vector<std::string> v;
    for (std::string l; std::getline(f, l);) v.push_back(l);
    return v;
}

TEST(CliEmbed, RowsInInputOrderWithFileList) {
    const std::string dir = test::temp_dir();
    const std::vector<std::string> files = {sample("magpie.jpeg"), sample("tench.jpg"), sample("cheetah.jpg")};
    std::string out;
    ASSERT_EQ(test::run_command(cli() + " embed --batch 2 -o " + dir + "/e.npy " + files[0] + " " + files[1] + " " +
                                    files[2],
                                &out),
              0)
        << out;
    EXPECT_NE(out.find("wrote " + dir + "/e.npy [3, 192]"), std::string::npos) << out;
    const HostTensor e = read_npy(dir + "/e.npy");
    ASSERT_EQ(e.view.shape, (Shape{3, 192}));
    EXPECT_EQ(read_lines(dir + "/e.npy.files.txt"), files);

    auto engine = Engine::load(default_model_path());
    std::vector<float> x(engine->input_size());
    for (size_t i = 0; i < files.size(); ++i) {
        engine->preprocess_file(files[i], x.data());
        const std::vector<float> ref = engine->run(x.data(), 1, Output::embedding);
        ASSERT_EQ(ref.size(), 192u);
        for (size_t k = 0; k < ref.size(); ++k)
            ASSERT_NEAR(e.f32()[i * 192 + k], ref[k], 1e-4) << files[i] << " feature " << k;
    }
}

TEST(CliEmbed, TokensAndDirectoriesAndBadImages) {
    const std::string dir = test::temp_dir();
    fs::create_directories(dir + "/imgs");
    fs::copy_file(sample("tench.jpg"), dir + "/imgs/b.jpg");
    fs::copy_file(sample("magpie.jpeg"), dir + "/imgs/a.jpeg");
    test::io::write_bytes(dir + "/imgs/c_broken.jpg", "not a jpeg");
    std::string out;
    // A directory is walked sorted; the broken image is reported and skipped (status 1), the rest written.
    EXPECT_EQ(test::run_command(cli() + " embed --tokens -o " + dir + "/t.npy " + dir + "/imgs", &out), 1) << out;
    EXPECT_NE(out.find("c_broken.jpg"), std::string::npos) << out;
    const HostTensor t = read_npy(dir + "/t.npy");
    ASSERT_EQ(t.view.shape, (Shape{2, 197, 192}));
    EXPECT_EQ(read_lines(dir + "/t.npy.files.txt"),
              (std::vector<std::string>{dir + "/imgs/a.jpeg", dir + "/imgs/b.jpg"}));
    // The class token after the final norm is the pooled embedding of this model.
    ASSERT_EQ(test::run_command(cli() + " embed -o " + dir + "/e.npy " + dir + "/imgs/a.jpeg " + dir + "/imgs/b.jpg",
                                &out),
              0)
        << out;
    const HostTensor e = read_npy(dir + "/e.npy");
    ASSERT_EQ(e.view.shape, (Shape{2, 192}));
    for (int i = 0; i < 2; ++i)
        for (int k = 0; k < 192; ++k) ASSERT_NEAR(t.f32()[(i * 197) * 192 + k], e.f32()[i * 192 + k], 1e-4) << i << "," << k;
}

TEST(CliEmbed, ErrorsAreClear) {
    const std::string dir = test::temp_dir();
    fs::create_directories(dir + "/empty");
    std::string out;
    EXPECT_EQ(test::run_command(cli() + " embed -o " + dir + "/e.npy " + dir + "/empty", &out), 2) << out;
    EXPECT_NE(out.find("no images found"), std::string::npos) << out;
    test::io::write_bytes(dir + "/bad.jpg", "xx");
    EXPECT_NE(test::run_command(cli() + " embed -o " + dir + "/e.npy " + dir + "/bad.jpg", &out), 0) << out;
    EXPECT_NE(out.find("no image could be read"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(dir + "/e.npy"));
    EXPECT_NE(test::run_command(cli() + " embed --batch 0 " + sample("tench.jpg"), &out), 0) << out;
    EXPECT_NE(out.find("--batch"), std::string::npos) << out;
    EXPECT_NE(test::run_command(cli() + " embed -o /nonexistent-dir/e.npy " + sample("tench.jpg"), &out), 0) << out;
    EXPECT_NE(out.find("/nonexistent-dir/e.npy"), std::string::npos) << out;
}

}  // namespace
}  // namespace vitrt
