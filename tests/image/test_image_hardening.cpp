// Hardening of image decoding (issue 11): PIL's decompression-bomb pixel limit (configurable),
// the decode memory budget shared by threads, and non-regular files given as images. Exact checks
// only (no tolerances): every case decodes or throws vitrt::Error naming the problem.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/test_env.hpp"
#include "image/image.hpp"
#include "vitrt/error.hpp"
#include "common/images.hpp"

using namespace vitrt;

namespace {


using test::contains;

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// A baseline JPEG whose SOF0 header declares width x height; no scan data follows.
std::vector<uint8_t> jpeg_declaring(int width, int height) {
    std::vector<uint8_t> j = test::encode_rgb_jpeg(16, 16);
    for (size_t i = 2; i + 9 < j.size(); ++i) {
        if (j[i] == 0xff && (j[i + 1] == 0xc0 || j[i + 1] == 0xc2)) {
            j[i + 5] = uint8_t(height >> 8), j[i + 6] = uint8_t(height);
            j[i + 7] = uint8_t(width >> 8), j[i + 8] = uint8_t(width);
            return j;
        }
    }
    throw std::runtime_error("no SOF marker");
}

TEST(ImageHardening, DefaultPixelLimitIsPilsBombGuard) {
    EXPECT_EQ(image::default_max_image_pixels, 178956970);
    // 15000 x 15000 = 225 M pixels: under the hard 2^28 limit, over PIL's default refusal.
    const auto j = jpeg_declaring(15000, 15000);
    const std::string e = error_of([&] { image::decode_memory(j.data(), j.size(), "bomb.jpg"); });
    EXPECT_TRUE(contains(e, "bomb.jpg") && contains(e, "15000x15000") && contains(e, "--max-image-pixels")) << e;
}

TEST(ImageHardening, ImagesAbovePilsWarningThresholdWarnOnce) {
    EXPECT_EQ(image::warn_image_pixels, 89478485);  // PIL's Image.MAX_IMAGE_PIXELS
    std::vector<std::string> warnings;
    image::DecodeLimits limits;
    limits.warn = [&](const std::string& m) { warnings.push_back(m); };
    // 9000 x 10000 = 90 M pixels: above PIL's warning threshold, below its (and our) refusal.
    // The IHDR lies (the data is one pixel), so the decode fails after the warning.
    const auto big = test::encode_rgb_png(1, 1, 1, 9000, 10000);
    const std::string e = error_of([&] { image::decode_memory(big.data(), big.size(), "big.png", limits); });
    EXPECT_FALSE(contains(e, "too large")) << e;
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_TRUE(contains(warnings[0], "big.png: PNG image has 90000000 pixels (9000x10000)")) << warnings[0];
    EXPECT_TRUE(contains(warnings[0], "warning threshold of 89478485")) << warnings[0];
    // Below the threshold, or refused: no warning.
    warnings.clear();
    const auto png = test::encode_rgb_png(64, 48);
    image::decode_memory(png.data(), png.size(), "small.png", limits);
    limits.max_pixels = 1000;
    error_of([&] { image::decode_memory(big.data(), big.size(), "big.png", limits); });
    EXPECT_TRUE(warnings.empty());
    // Without a callback the warning goes to stderr, once.
    testing::internal::CaptureStderr();
    error_of([&] { image::decode_memory(big.data(), big.size(), "big.png"); });
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(err, "warning: big.png: PNG image has 90000000 pixels")) << err;
    EXPECT_EQ(err.find("warning:"), err.rfind("warning:")) << err;
}

TEST(ImageHardening, PixelLimitIsConfigurable) {
    const auto png = test::encode_rgb_png(100, 50);
    image::DecodeLimits small;
    small.max_pixels = 4999;
    const std::string e = error_of([&] { image::decode_memory(png.data(), png.size(), "p.png", small); });
    EXPECT_TRUE(contains(e, "100x50") && contains(e, "limit is 4999")) << e;
    small.max_pixels = 5000;
    EXPECT_EQ(image::decode_memory(png.data(), png.size(), "p.png", small).width, 100);
    const auto jpg = test::encode_rgb_jpeg(100, 50);
    small.max_pixels = 4999;
    EXPECT_TRUE(contains(error_of([&] { image::decode_memory(jpg.data(), jpg.size(), "j.jpg", small); }), "limit is 4999"));
}

TEST(ImageHardening, DecodedImageHoldsItsBudgetLease) {
    image::DecodeMemoryBudget budget(1 << 20);
    image::DecodeLimits limits;
    limits.budget = &budget;
    const auto png = test::encode_rgb_png(40, 30);
    {
        const image::RgbImage img = image::decode_memory(png.data(), png.size(), "p.png", limits);
        EXPECT_GE(budget.in_use(), size_t(40 * 30 * 3));
    }
    EXPECT_EQ(budget.in_use(), 0u);
    const auto jpg = test::encode_rgb_jpeg(40, 30);
    {
        const image::RgbImage img = image::decode_memory(jpg.data(), jpg.size(), "j.jpg", limits);
        EXPECT_GE(budget.in_use(), size_t(40 * 30 * 3));
    }
    EXPECT_EQ(budget.in_use(), 0u);
    // A failed decode gives its reservation back.
    auto cut = png;
    cut.resize(cut.size() - 20);
    EXPECT_NE(error_of([&] { image::decode_memory(cut.data(), cut.size(), "cut.png", limits); }), "");
    EXPECT_EQ(budget.in_use(), 0u);
}

TEST(ImageHardening, DecodeBudgetBoundsBytesInFlight) {
    image::DecodeMemoryBudget budget(1000);
    auto a = budget.acquire(600);
    std::atomic<bool> got_b{false};
    std::thread t([&] {
        auto b = budget.acquire(600);  // does not fit beside a: waits
        got_b = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(got_b.load());
    EXPECT_EQ(budget.in_use(), 600u);
    a.reset();
    t.join();
    EXPECT_TRUE(got_b.load());
    EXPECT_EQ(budget.in_use(), 0u);
    // Larger than the whole budget: runs alone rather than never.
    auto huge = budget.acquire(5000);
    EXPECT_EQ(budget.in_use(), 5000u);
    huge.reset();
    EXPECT_EQ(budget.in_use(), 0u);
}

TEST(ImageHardening, FifoAndDevicesAreRefusedWithoutBlocking) {
    const std::string fifo = test::temp_dir() + "/pipe.jpg";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    const auto t0 = std::chrono::steady_clock::now();
    const std::string e = error_of([&] { image::decode_file(fifo); });  // used to block forever
    EXPECT_TRUE(contains(e, "pipe.jpg") && contains(e, "not a regular file")) << e;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
    EXPECT_TRUE(contains(error_of([] { image::decode_file("/dev/zero"); }), "not a regular file"));
    EXPECT_TRUE(contains(error_of([] { image::decode_file("/nonexistent/x.jpg"); }), "cannot open"));
}

}  // namespace
