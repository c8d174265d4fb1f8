// Test environment: where the shared data, the sources, the CLI and the reference Python are.
#pragma once

#include <string>
#include <vector>

namespace vitrt::test {

// ../shared/data (or $VITRT_SHARED_DATA); empty when absent.
std::string shared_data();
// GTEST_SKIP()s the calling test with a message when the shared data is absent.
#define VITRT_REQUIRE_SHARED_DATA()                                                        \
    do {                                                                                   \
        if (::vitrt::test::shared_data().empty())                                          \
            GTEST_SKIP() << "needs ../shared/data (set VITRT_SHARED_DATA); absent here";   \
    } while (0)

std::string source_dir();
std::string cli_path();
// The repository's samples/ (the MIT-licensed photos the CLI tests classify).
std::string samples_dir();
inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
// Debian's python3 with torch/torchvision/PIL, or empty when those are not importable.
std::string python_with_torch();
#define VITRT_REQUIRE_TORCH()                                                              \
    do {                                                                                   \
        if (::vitrt::test::python_with_torch().empty())                                    \
            GTEST_SKIP() << "needs /usr/bin/python3 with python3-torch/torchvision";       \
    } while (0)

// A fresh, empty temporary directory (removed at exit).
std::string temp_dir();

std::vector<float> read_f32(const std::string& path);
void write_f32(const std::string& path, const float* data, size_t n);

// ../shared/data/images/labels.csv: every image (relative path) with its ImageNet class index
// (-1: no ImageNet class).
struct Labelled {
    std::string path;
    int label;
};
std::vector<Labelled> labelled_images();

// Runs a shell command, returns its exit status; stdout+stderr captured in *output if given.
int run_command(const std::string& cmd, std::string* output = nullptr);

}  // namespace vitrt::test
