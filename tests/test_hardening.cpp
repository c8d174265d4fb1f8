// Hardening of the readers of untrusted input (issue 11): decode pixel limits and the decode
// memory budget, non-regular files given as images, npz archive-wide caps (overlapping members,
// total inflated size), and the finite-weights helper. Exact checks only (no tolerances): every
// case either decodes/loads or throws vitrt::Error with a message naming the problem.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <thread>

#include "common/test_env.hpp"
#include "image/image.hpp"
#include "io/checkpoint.hpp"
#include "io/finite.hpp"
#include "io/model_source.hpp"
#include "test_image_util.hpp"
#include "test_io_util.hpp"

using namespace vitrt;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

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

TEST(Hardening, DefaultPixelLimitIsPilsBombGuard) {
    EXPECT_EQ(image::default_max_image_pixels, 178956970);
    // 15000 x 15000 = 225 M pixels: under the hard 2^28 limit, over PIL's default refusal.
    const auto j = jpeg_declaring(15000, 15000);
    const std::string e = error_of([&] { image::decode_memory(j.data(), j.size(), "bomb.jpg"); });
    EXPECT_TRUE(contains(e, "bomb.jpg") && contains(e, "15000x15000") && contains(e, "--max-image-pixels")) << e;
}

TEST(Hardening, PixelLimitIsConfigurable) {
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

TEST(Hardening, DecodedImageHoldsItsBudgetLease) {
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

TEST(Hardening, DecodeBudgetBoundsBytesInFlight) {
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

TEST(Hardening, FifoAndDevicesAreRefusedWithoutBlocking) {
    const std::string fifo = test::temp_dir() + "/pipe.jpg";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    const auto t0 = std::chrono::steady_clock::now();
    const std::string e = error_of([&] { image::decode_file(fifo); });  // used to block forever
    EXPECT_TRUE(contains(e, "pipe.jpg") && contains(e, "not a regular file")) << e;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
    EXPECT_TRUE(contains(error_of([] { image::decode_file("/dev/zero"); }), "not a regular file"));
    EXPECT_TRUE(contains(error_of([] { image::decode_file("/nonexistent/x.jpg"); }), "cannot open"));
}

TEST(Hardening, FifosGivenAsModelFilesAreRefusedWithoutBlocking) {
    const std::string dir = test::temp_dir() + "/fifo_model";
    std::filesystem::create_directories(dir);
    ASSERT_EQ(mkfifo((dir + "/weights").c_str(), 0600), 0);  // no extension: content sniffing
    ASSERT_EQ(mkfifo((dir + "/w.safetensors").c_str(), 0600), 0);
    EXPECT_TRUE(contains(error_of([&] { load_checkpoint(dir + "/weights"); }), "not a regular file"));
    EXPECT_TRUE(contains(error_of([&] { load_safetensors(dir + "/w.safetensors"); }), "not a regular file"));
    ASSERT_EQ(mkfifo((dir + "/config.json").c_str(), 0600), 0);
    EXPECT_TRUE(contains(error_of([&] { read_json_file(dir + "/config.json"); }), "not a regular file"));
}

using test::io::set_le;
using test::io::zip_bytes;
using test::io::ZipLayout;

std::string npz_error(const std::string& bytes) {
    const std::string path = test::temp_dir() + "/a.npz";
    test::io::write_bytes(path, bytes);
    return error_of([&] { load_npz(path); });
}

uint32_t rd32_le(const std::string& s, size_t pos) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | uint8_t(s[pos + size_t(i)]);
    return v;
}

std::string random_bytes(size_t n, uint32_t seed) {
    std::mt19937 g(seed);
    std::string s(n, '\0');
    for (char& c : s) c = char(g());
    return s;
}

TEST(Hardening, NpzOverlappingMembersAreRefused) {
    ZipLayout lay;
    const std::string z = zip_bytes({{"a.npy", random_bytes(100, 1), 0}, {"b.npy", random_bytes(100, 2), 0}}, {}, &lay);
    std::string overlap = z;  // b's directory entry points into a's data
    set_le(overlap, lay.central_offsets[1] + 42, lay.local_offsets[0] + 40, 4);
    EXPECT_TRUE(contains(npz_error(overlap), "overlap")) << npz_error(overlap);
}

TEST(Hardening, NpzTotalInflatedSizeIsCapped) {
    // Five incompressible 64 KiB members, each declaring 1032x its compressed size (the most
    // deflate can honestly reach, so each passes on its own): 330 MB in all from a 330 kB file.
    std::vector<test::io::ZipMember> members;
    for (int i = 0; i < 5; ++i) members.push_back({"m" + std::to_string(i) + ".npy", random_bytes(65536, uint32_t(i)), 8});
    ZipLayout lay;
    std::string z = zip_bytes(members, {}, &lay);
    for (size_t c : lay.central_offsets) {
        const uint32_t compressed = rd32_le(z, c + 20);
        set_le(z, c + 24, uint64_t(compressed) * 1032, 4);
    }
    const std::string e = npz_error(z);
    EXPECT_TRUE(contains(e, "in all") && contains(e, "zip bomb")) << e;
}

HostTensor tensor_of(DType dt, const std::vector<uint16_t>& halves) {
    auto t = HostTensor::zeros_f32({int64_t(halves.size())});
    t.view.dtype = dt;  // reuse the (larger) f32 buffer for 16-bit data
    std::memcpy(t.view.data, halves.data(), halves.size() * 2);
    return t;
}

TEST(Hardening, AllFinite) {
    auto f = HostTensor::zeros_f32({5});
    EXPECT_TRUE(all_finite(f));
    f.mutable_f32()[3] = std::numeric_limits<float>::max();
    EXPECT_TRUE(all_finite(f));
    f.mutable_f32()[4] = std::numeric_limits<float>::infinity();
    EXPECT_FALSE(all_finite(f));
    f.mutable_f32()[4] = -std::numeric_limits<float>::quiet_NaN();
    EXPECT_FALSE(all_finite(f));
    EXPECT_TRUE(all_finite(tensor_of(DType::f16, {0x3c00, 0x7bff, 0xfbff})));  // 1, +-65504
    EXPECT_FALSE(all_finite(tensor_of(DType::f16, {0x3c00, 0x7c00})));        // +Inf
    EXPECT_FALSE(all_finite(tensor_of(DType::f16, {0xfe00})));                // NaN
    EXPECT_TRUE(all_finite(tensor_of(DType::bf16, {0x3f80, 0x7f7f})));
    EXPECT_FALSE(all_finite(tensor_of(DType::bf16, {0x3f80, 0xff80})));       // -Inf
    EXPECT_FALSE(all_finite(tensor_of(DType::bf16, {0x7fc0})));               // NaN
    EXPECT_TRUE(all_finite(HostTensor::zeros_f32({0})));
}

}  // namespace
