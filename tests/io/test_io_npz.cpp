// npz reader: archives written by numpy itself (np.savez / np.savez_compressed, compared value
// for value with what numpy says), hand-built ZIP64 / data-descriptor archives, and one test per
// class of malformed archive or .npy member.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "common/test_env.hpp"
#include "io/checkpoint.hpp"
#include "common/io_files.hpp"

using namespace vitrt;
using namespace vitrt::test::io;

namespace {

bool have_numpy() {
    static const bool ok =
        test::run_command(std::string(VITRT_TEST_PYTHON) + " -c 'import numpy'") == 0;
    return ok;
}

std::string f32_bytes(std::initializer_list<float> v) {
    return std::string(reinterpret_cast<const char*>(v.begin()), v.size() * 4);
}

std::string write_tmp(const std::string& bytes, const std::string& name = "t.npz") {
    const std::string path = test::temp_dir() + "/" + name;
    write_bytes(path, bytes);
    return path;
}

// Loads; returns the error message or "" when it loaded.
std::string npz_error(const std::string& bytes) {
    const std::string path = write_tmp(bytes, "bad.npz");
    try {
        load_npz(path);
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("bad.npz"), std::string::npos) << "message must name the file: " << msg;
        return msg;
    }
    return "";
}

std::string small_npy() { return npy_bytes("<f4", "(2, 2)", false, f32_bytes({1, 2, 3, 4})); }

ZipOptions zip64() {
    ZipOptions o;
    o.zip64 = true;
    return o;
}

using test::contains;

}  // namespace

class NumpyWritten : public ::testing::TestWithParam<const char*> {};

TEST_P(NumpyWritten, MatchesNumpyExactly) {
    if (!have_numpy()) GTEST_SKIP() << "needs " << VITRT_TEST_PYTHON << " with numpy";
    static const std::string dir = [] {
        const std::string d = test::temp_dir();
        std::string out;
        const int rc = test::run_command(std::string(VITRT_TEST_PYTHON) + " " + test::source_dir() +
                                             "/tests/py/io_make_npz.py " + d,
                                         &out);
        EXPECT_EQ(rc, 0) << out;
        return d;
    }();
    const Checkpoint ck = load_npz(dir + "/" + GetParam());
    EXPECT_EQ(ck.format, "npz");
    const auto manifest = nlohmann::json::parse(read_bytes(dir + "/manifest.json"));
    ASSERT_EQ(ck.tensors.size(), manifest.size());
    EXPECT_TRUE(ck.skipped.empty());
    for (const auto& m : manifest) {
        const std::string name = m["name"];
        SCOPED_TRACE(name);
        ASSERT_TRUE(ck.has(name));
        const HostTensor& t = ck.get(name);
        EXPECT_EQ(t.shape(), Shape(m["shape"].get<std::vector<int64_t>>()));
        EXPECT_EQ(dtype_name(t.view.dtype), m["dtype"].get<std::string>());
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t.view.data) % dtype_size(t.view.dtype), 0u);
        const std::string want = read_bytes(m["file"]);
        ASSERT_EQ(t.view.nbytes(), want.size());
        EXPECT_EQ(0, std::memcmp(t.view.data, want.data(), want.size())) << "values differ";
    }
    EXPECT_EQ(ck.get("scalar").f32()[0], 3.5f);
    EXPECT_EQ(ck.get("scalar64").f32()[0], -2.25f);
    EXPECT_EQ(ck.get("Transformer/encoderblock_0/MlpBlock_3/Dense_0/kernel").shape(),
              (Shape{192, 768}));
    EXPECT_EQ(load_checkpoint(dir + "/" + GetParam()).format, "npz");
}

INSTANTIATE_TEST_SUITE_P(IoNpz, NumpyWritten, ::testing::Values("stored.npz", "compressed.npz"));

TEST(IoNpz, HandBuiltVariantsLoad) {
    // A Fortran-ordered 2x3 array stores columns: bytes 1..6 mean rows [1 3 5] and [2 4 6].
    const std::string fort = npy_bytes("<f4", "(2, 3)", true, f32_bytes({1, 2, 3, 4, 5, 6}));
    const std::string v2 = npy_bytes("<f4", "(3,)", false, f32_bytes({7, 8, 9}), /*major=*/2);
    const std::string v3 = npy_bytes("<f4", "()", false, f32_bytes({-1}), /*major=*/3);
    for (bool zip64 : {false, true}) {
        for (bool dd : {false, true}) {
            SCOPED_TRACE(std::string("zip64=") + (zip64 ? "1" : "0") + " dd=" + (dd ? "1" : "0"));
            ZipOptions opt;
            opt.zip64 = zip64;
            opt.comment = "archive comment with PK\x05\x06 inside";
            opt.prefix_padding = "";
            std::vector<ZipMember> ms = {
                {"a/b/c.npy", small_npy(), 0, dd},
                {"fort.npy", fort, 8, dd},
                {"v2.npy", v2, 8, false},
                {"v3.npy", v3, 0, false},
                {"dir/", "", 0, false},
                {"README.txt", "not an array", 0, false},
            };
            const Checkpoint ck = load_npz(write_tmp(zip_bytes(ms, opt)));
            ASSERT_EQ(ck.tensors.size(), 4u);
            EXPECT_EQ(ck.get("a/b/c").shape(), (Shape{2, 2}));
            EXPECT_EQ(ck.get("a/b/c").f32()[3], 4.f);
            const HostTensor& f = ck.get("fort");
            EXPECT_EQ(f.shape(), (Shape{2, 3}));
            const float want[] = {1, 3, 5, 2, 4, 6};
            for (int i = 0; i < 6; ++i) EXPECT_EQ(f.f32()[i], want[i]) << i;
            EXPECT_EQ(ck.get("v2").f32()[2], 9.f);
            EXPECT_EQ(ck.get("v3").shape(), Shape{});
            EXPECT_EQ(ck.get("v3").f32()[0], -1.f);
            EXPECT_EQ(ck.skipped, std::vector<std::string>{"README.txt"});
        }
    }
}

TEST(IoNpz, EmptyArchiveAndCommentOnly) {
    EXPECT_EQ(npz_error(zip_bytes({})), "");
    ZipOptions opt;
    opt.comment = std::string(65535, 'x');  // the longest comment: the search window's edge
    EXPECT_EQ(npz_error(zip_bytes({{"w.npy", small_npy()}}, opt)), "");
}

TEST(IoNpz, TruncatedArchive) {
    const std::string z = zip_bytes({{"w.npy", small_npy(), 8}, {"v.npy", small_npy(), 0}});
    EXPECT_NE(npz_error(""), "");
    EXPECT_NE(npz_error("PK\x03\x04"), "");
    for (size_t cut = 1; cut < z.size(); cut += 7)
        EXPECT_NE(npz_error(z.substr(0, cut)), "") << cut;
}

TEST(IoNpz, CorruptArchives) {
    ZipLayout lay;
    const std::vector<ZipMember> ms = {{"w.npy", small_npy(), 8}, {"v.npy", small_npy(), 0}};
    const std::string z = zip_bytes(ms, {}, &lay);
    EXPECT_EQ(npz_error(z), "");

    std::string bad_crc = z;
    set_le(bad_crc, lay.central_offsets[1] + 16, 0xdeadbeef, 4);
    EXPECT_TRUE(contains(npz_error(bad_crc), "CRC")) << npz_error(bad_crc);

    std::string bad_data = z;  // flip one byte of the stored array's data: CRC catches it
    bad_data[lay.central_dir_offset - 1] ^= 0x40;
    EXPECT_TRUE(contains(npz_error(bad_data), "CRC"));

    std::string bad_off = z;
    set_le(bad_off, lay.central_offsets[0] + 42, 0x7fffffff, 4);
    EXPECT_TRUE(contains(npz_error(bad_off), "local header offset"));
    std::string wrong_off = z;  // points at the second member's header: names differ
    set_le(wrong_off, lay.central_offsets[0] + 42, lay.local_offsets[1], 4);
    EXPECT_NE(npz_error(wrong_off), "");
    std::string mid_off = z;  // points into data, no signature
    set_le(mid_off, lay.central_offsets[0] + 42, 3, 4);
    EXPECT_NE(npz_error(mid_off), "");

    std::string bzip2 = z;
    set_le(bzip2, lay.central_offsets[0] + 10, 12, 2);
    EXPECT_TRUE(contains(npz_error(bzip2), "compression method 12"));

    std::string encrypted = z;
    set_le(encrypted, lay.central_offsets[0] + 8, 1, 2);
    EXPECT_TRUE(contains(npz_error(encrypted), "encrypted"));

    std::string stored_mismatch = z;
    set_le(stored_mismatch, lay.central_offsets[1] + 24, 5, 4);
    EXPECT_NE(npz_error(stored_mismatch), "");

    std::string too_big = z;  // compressed size past the end of the file
    set_le(too_big, lay.central_offsets[1] + 20, 1 << 20, 4);
    set_le(too_big, lay.central_offsets[1] + 24, 1 << 20, 4);
    EXPECT_NE(npz_error(too_big), "");

    std::string bad_count = z;
    set_le(bad_count, lay.end_offset + 10, 900, 2);
    EXPECT_NE(npz_error(bad_count), "");
    std::string bad_cd = z;
    set_le(bad_cd, lay.end_offset + 16, 0xfffffff0u, 4);
    EXPECT_NE(npz_error(bad_cd), "");
    std::string multi_disk = z;
    set_le(multi_disk, lay.end_offset + 4, 1, 2);
    EXPECT_TRUE(contains(npz_error(multi_disk), "multi-disk"));

    EXPECT_TRUE(contains(npz_error(zip_bytes({{"w.npy", small_npy()}, {"w.npy", small_npy()}})),
                         "twice"));
}

TEST(IoNpz, Zip64Corruption) {
    ZipLayout lay;
    const std::string z = zip_bytes({{"w.npy", small_npy(), 8}}, zip64(), &lay);
    EXPECT_EQ(npz_error(z), "");
    const size_t locator = lay.end_offset - 20;
    std::string bad_loc = z;
    set_le(bad_loc, locator + 8, uint64_t(1) << 40, 8);
    EXPECT_TRUE(contains(npz_error(bad_loc), "zip64"));
    std::string bad_rec = z;
    set_le(bad_rec, locator + 8, 0, 8);
    EXPECT_NE(npz_error(bad_rec), "");
    std::string huge_count = z;  // zip64 end record: entry count
    set_le(huge_count, locator - 56 + 32, uint64_t(1) << 60, 8);
    EXPECT_NE(npz_error(huge_count), "");
    // zip64 extra field truncated: claim a 4-byte field where 28 are needed.
    std::string short_extra = z;
    const size_t extra = lay.central_offsets[0] + 46 + 5;  // after "w.npy"
    set_le(short_extra, extra + 2, 4, 2);
    EXPECT_NE(npz_error(short_extra), "");
}

TEST(IoNpz, DecompressionBombsAndSizeLies) {
    ZipLayout lay;
    const std::string z = zip_bytes({{"w.npy", small_npy(), 8}}, {}, &lay);
    const size_t c = lay.central_offsets[0];
    std::string bomb = z;  // declares 4 GiB - 1 from ~50 compressed bytes: refused unallocated
    set_le(bomb, c + 24, 0xffffffffu, 4);
    EXPECT_TRUE(contains(npz_error(bomb), "impossible")) << npz_error(bomb);
    std::string bomb64 = zip_bytes({{"w.npy", small_npy(), 8}}, zip64(), &lay);
    set_le(bomb64, lay.central_offsets[0] + 46 + 5 + 4, uint64_t(1) << 40, 8);
    EXPECT_TRUE(contains(npz_error(bomb64), "16 GiB")) << npz_error(bomb64);

    const std::string z2 = zip_bytes({{"w.npy", small_npy(), 8}}, {}, &lay);
    std::string smaller = z2;  // real data inflates past the declared size
    set_le(smaller, lay.central_offsets[0] + 24, small_npy().size() - 5, 4);
    EXPECT_TRUE(contains(npz_error(smaller), "more than")) << npz_error(smaller);
    std::string larger = z2;
    set_le(larger, lay.central_offsets[0] + 24, small_npy().size() + 5, 4);
    EXPECT_NE(npz_error(larger), "");
    std::string garbage = z2;  // deflate stream replaced with junk
    const size_t data_at = lay.local_offsets[0] + 30 + 5;
    for (size_t i = data_at; i < data_at + 8; ++i) garbage[i] = char(0xff);
    EXPECT_NE(npz_error(garbage), "");
}

TEST(IoNpz, BadNpyMembers) {
    auto member = [](const std::string& npy) { return zip_bytes({{"m/x.npy", npy}}); };
    const std::string data = f32_bytes({1, 2, 3, 4});
    std::string bad_magic = small_npy();
    bad_magic[1] = 'X';
    EXPECT_TRUE(contains(npz_error(member(bad_magic)), "magic"));
    EXPECT_TRUE(contains(npz_error(member(bad_magic)), "'m/x.npy'"));
    EXPECT_NE(npz_error(member("\x93NUMPY")), "");
    std::string v9 = small_npy();
    v9[6] = 9;
    EXPECT_TRUE(contains(npz_error(member(v9)), "version"));
    std::string long_hdr = small_npy();
    set_le(long_hdr, 8, 0xffff, 2);
    EXPECT_NE(npz_error(member(long_hdr)), "");

    for (const char* d : {"<i4", "|b1", "<c8", "|u1", "<f16", "O", "<M8"}) {
        const std::string msg = npz_error(member(npy_bytes(d, "(2, 2)", false, data)));
        EXPECT_TRUE(contains(msg, "not supported") && contains(msg, "'m/x.npy'")) << d << ": " << msg;
    }
    for (const char* shape : {"(2, -2)", "(2.0, 2)", "[2, 2]", "(2 2)", "(", "(99999999999999999999,)",
                              "(4611686018427387904, 4)"}) {
        EXPECT_NE(npz_error(member(npy_bytes("<f4", shape, false, data))), "") << shape;
    }
    EXPECT_TRUE(contains(npz_error(member(npy_bytes("<f4", "(2, 3)", false, data))), "truncated"));
    EXPECT_NE(npz_error(member(npy_bytes("<f4", "(1, 3)", false, data))), "");  // extra bytes
    // Header dict variants.
    auto raw_header = [&](const std::string& dict) {
        std::string s = "\x93NUMPY\x01";
        s.push_back(0);
        put_le(s, dict.size(), 2);
        return s + dict + data;
    };
    EXPECT_EQ(npz_error(member(raw_header(
                  "{\"descr\": \"<f4\", \"shape\": (4,), \"fortran_order\": False}\n"))),
              "");
    EXPECT_NE(npz_error(member(raw_header("{'descr': '<f4', 'shape': (4,)}\n"))), "");
    EXPECT_NE(npz_error(member(raw_header("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,)}"))),
              "");
    EXPECT_NE(npz_error(member(raw_header("{'descr': [('a', '<f4')], 'fortran_order': False, "
                                          "'shape': (4,)}"))),
              "");
    EXPECT_NE(npz_error(member(raw_header("{'descr': '<f4, 'fortran_order': False, 'shape': (4,)}"))),
              "");
    EXPECT_NE(npz_error(member(raw_header(
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}"))),
              "");
    EXPECT_NE(npz_error(member(raw_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} x"))),
              "");
}

TEST(IoNpz, Float64AndBigEndianConvert) {
    std::vector<double> d = {1.0 / 3.0, -0.0, 1e300, -1e-320, 3.0e38};
    std::string be;  // big-endian f4 of 1.5, -2
    for (float f : {1.5f, -2.0f}) {
        uint32_t u;
        std::memcpy(&u, &f, 4);
        for (int i = 3; i >= 0; --i) be.push_back(char(u >> (8 * i)));
    }
    const Checkpoint ck = load_npz(write_tmp(zip_bytes({
        {"d.npy", npy_bytes("<f8", "(5,)", false, raw(d))},
        {"be.npy", npy_bytes(">f4", "(2,)", false, be)},
    })));
    const float* f = ck.get("d").f32();
    EXPECT_EQ(f[0], float(1.0 / 3.0));
    EXPECT_TRUE(std::signbit(f[1]) && f[1] == 0.f);
    EXPECT_TRUE(std::isinf(f[2]) && f[2] > 0);
    EXPECT_EQ(f[3], -0.f);
    EXPECT_EQ(f[4], 3.0e38f);
    EXPECT_EQ(ck.get("be").f32()[0], 1.5f);
    EXPECT_EQ(ck.get("be").f32()[1], -2.f);
}

TEST(IoNpz, StoredAlignedMembersAreZeroCopy) {
    // Array data starts at prefix + 30 (local header) + name length + 64 (npy header). Stored
    // members whose data is 4-aligned in the file are views sharing the archive mapping as
    // owner; misaligned or deflated ones get their own aligned buffer.
    const std::string npy = small_npy();  // 64-byte header + 16 bytes
    ZipOptions opt;
    opt.prefix_padding = std::string(3, '\0');  // 3 + 30 + 5 = 38 -> +64 = 102: misaligned
    const Checkpoint mis = load_npz(write_tmp(zip_bytes({{"a.npy", npy}}, opt)));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(mis.get("a").view.data) % 4, 0u);
    EXPECT_EQ(mis.get("a").f32()[2], 3.f);

    opt.prefix_padding = std::string(1, '\0');  // 1 + 30 + 5 + 64 = 100: aligned
    // The second member's header starts at 100 + 16 = 116; 116 + 30 + 6 + 64 = 216: aligned.
    const Checkpoint ck = load_npz(write_tmp(
        zip_bytes({{"a.npy", npy}, {"bb.npy", npy}, {"cc.npy", npy, 8}}, opt)));
    EXPECT_EQ(ck.get("a").owner.get(), ck.get("bb").owner.get());
    EXPECT_NE(ck.get("a").owner.get(), ck.get("cc").owner.get());
    EXPECT_EQ(ck.get("bb").f32()[3], 4.f);
}
