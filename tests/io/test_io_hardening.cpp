// Hardening of the checkpoint readers (issue 11): non-regular model files, npz archive-wide caps
// (overlapping members, total inflated size) and the finite-weights helper. Exact checks only:
// every case loads or throws vitrt::Error naming the problem.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

#include "common/test_env.hpp"
#include "io/checkpoint.hpp"
#include "io/finite.hpp"
#include "io/model_source.hpp"
#include "common/io_files.hpp"

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

TEST(IoHardening, FifosGivenAsModelFilesAreRefusedWithoutBlocking) {
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

TEST(IoHardening, NpzOverlappingMembersAreRefused) {
    ZipLayout lay;
    const std::string z = zip_bytes({{"a.npy", random_bytes(100, 1), 0}, {"b.npy", random_bytes(100, 2), 0}}, {}, &lay);
    std::string overlap = z;  // b's directory entry points into a's data
    set_le(overlap, lay.central_offsets[1] + 42, lay.local_offsets[0] + 40, 4);
    EXPECT_TRUE(contains(npz_error(overlap), "overlap")) << npz_error(overlap);
}

TEST(IoHardening, NpzTotalInflatedSizeIsCapped) {
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

TEST(IoHardening, AllFinite) {
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
