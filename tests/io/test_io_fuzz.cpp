// Deterministic mutation fuzzing of the checkpoint readers: a few thousand corrupted variants of
// a valid safetensors file and of valid npz archives (stored, deflated, zip64) must each either
// load or throw vitrt::Error; any other exception fails. Crashes and out-of-bounds reads are
// caught by building this test with sanitizers, e.g. in a separate build directory:
//   cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug
//         -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
//   cmake --build build-asan --target test_io_fuzz && build-asan/tests/test_io_fuzz
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "common/test_env.hpp"
#include "io/checkpoint.hpp"
#include "common/io_files.hpp"

using namespace vitrt;
using namespace vitrt::test::io;

namespace {

std::string f32_bytes(std::initializer_list<float> v) {
    return std::string(reinterpret_cast<const char*>(v.begin()), v.size() * 4);
}

std::string valid_safetensors() {
    const std::string header =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        "\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[16,22]},"
        "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[22,24]}}";
    return safetensors_bytes(header, f32_bytes({1, 2, 3, 4}) + std::string(16, '\x3c'));
}

std::string valid_npz(bool zip64) {
    const std::string a = npy_bytes("<f4", "(2, 3)", false, f32_bytes({1, 2, 3, 4, 5, 6}));
    const std::string f = npy_bytes("<f4", "(2, 2)", true, f32_bytes({1, 2, 3, 4}));
    const std::string d = npy_bytes("<f8", "(2,)", false, std::string(16, '\x40'), 2);
    const std::string h = npy_bytes("<f2", "()", false, std::string(2, '\x3c'));
    ZipOptions opt;
    opt.zip64 = zip64;
    return zip_bytes({{"x/a.npy", a, 8}, {"f.npy", f, 0}, {"d.npy", d, 8}, {"h.npy", h, 0}}, opt);
}

// One random edit: byte flips, "interesting" values over 1/2/4/8 bytes, truncation, insertion,
// deletion. Interesting values target the length and offset fields the parsers trust.
std::string mutate(std::string s, std::mt19937_64& rng) {
    auto pick = [&](uint64_t n) { return n ? rng() % n : 0; };
    const uint64_t interesting[] = {0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0xffffffff,
                                    0x100000000ull, ~0ull, 1ull << 62, 16, 64};
    const int edits = 1 + int(pick(3));
    for (int e = 0; e < edits && !s.empty(); ++e) {
        switch (pick(6)) {
            case 0: s[pick(s.size())] ^= char(1u << pick(8)); break;
            case 1: s[pick(s.size())] = char(rng()); break;
            case 2: {
                const int w = 1 << pick(4);
                const size_t pos = pick(s.size());
                const uint64_t v = interesting[pick(std::size(interesting))];
                for (int i = 0; i < w && pos + size_t(i) < s.size(); ++i)
                    s[pos + size_t(i)] = char(uint8_t(v >> (8 * i)));
                break;
            }
            case 3: s.resize(pick(s.size())); break;
            case 4: s.insert(pick(s.size() + 1), 1, char(rng())); break;
            case 5: s.erase(pick(s.size()), 1 + pick(4)); break;
        }
    }
    return s;
}

// Loads and touches every byte of every tensor (so a bad view is an out-of-bounds read the
// sanitizer sees). Returns true on success, false on vitrt::Error.
template <class Loader>
bool load_and_touch(const std::string& path, Loader load) {
    try {
        const Checkpoint ck = load(path);
        unsigned sum = 0;
        for (const auto& [name, t] : ck.tensors) {
            const auto* p = static_cast<const unsigned char*>(t.view.data);
            for (size_t i = 0; i < t.view.nbytes(); ++i) sum += p[i];
        }
        volatile unsigned sink = sum;
        (void)sink;
        return true;
    } catch (const Error&) {
        return false;
    }
}

// VITRT_FUZZ_SCALE=N multiplies the iteration counts for a longer manual run.
int scaled(int iters) {
    const char* s = std::getenv("VITRT_FUZZ_SCALE");
    const int k = s ? std::atoi(s) : 1;
    return iters * (k > 0 ? k : 1);
}

template <class Loader>
void fuzz(const std::string& seed_bytes, const std::string& ext, uint64_t seed, int iters,
          Loader load) {
    const std::string dir = test::temp_dir();
    const std::string path = dir + "/fuzz" + ext;
    write_bytes(path, seed_bytes);
    ASSERT_TRUE(load_and_touch(path, load)) << "the unmutated seed must load";
    std::mt19937_64 rng(seed);
    int ok = 0, rejected = 0;
    iters = scaled(iters);
    for (int i = 0; i < iters; ++i) {
        // A fresh name per case: rewriting one file in place makes ext4 flush on every truncate
        // (auto_da_alloc), which is 100x slower.
        const std::string p = dir + "/case" + std::to_string(i) + ext;
        write_bytes(p, mutate(seed_bytes, rng));
        try {
            (load_and_touch(p, load) ? ok : rejected)++;
        } catch (const std::exception& e) {
            FAIL() << "iteration " << i << ": non-vitrt exception: " << e.what();
        }
        std::remove(p.c_str());
    }
    // Both outcomes must occur, or the mutations are not reaching the parser.
    EXPECT_GT(ok, 0);
    EXPECT_GT(rejected, iters / 4);
    std::printf("[ fuzz %s ] %d loaded, %d rejected\n", ext.c_str(), ok, rejected);
}

}  // namespace

TEST(IoFuzz, Safetensors) {
    fuzz(valid_safetensors(), ".safetensors", 0x5afe, 4000, load_safetensors);
}

TEST(IoFuzz, NpzStoredAndDeflated) { fuzz(valid_npz(false), ".npz", 0x2a1, 3000, load_npz); }

TEST(IoFuzz, NpzZip64) { fuzz(valid_npz(true), ".npz", 0x64, 3000, load_npz); }

TEST(IoFuzz, LoadCheckpointAnyBytes) {
    // The sniffing entry point on mutations of both formats.
    std::mt19937_64 rng(7);
    const std::string dir = test::temp_dir();
    for (int i = 0; i < 500; ++i) {
        const std::string path = dir + "/any" + std::to_string(i) + ".bin";
        write_bytes(path, mutate(i % 2 ? valid_npz(false) : valid_safetensors(), rng));
        try {
            load_and_touch(path, load_checkpoint);
        } catch (const std::exception& e) {
            FAIL() << "iteration " << i << ": non-vitrt exception: " << e.what();
        }
        std::remove(path.c_str());
    }
}
