#include "common/test_env.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace vitrt::test {

std::string shared_data() {
    static const std::string dir = [] {
        const char* env = std::getenv("VITRT_SHARED_DATA");
        std::string d = env && *env ? env : VITRT_TEST_SHARED_DATA;
        return fs::exists(fs::path(d) / "SOURCES.md") ? d : std::string();
    }();
    return dir;
}

// The compiled-in paths, unless the environment says otherwise (binaries carried to another
// machine, e.g. bench/cuda/device_env.sh, where the checkout and the CLI live elsewhere).
static std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}
std::string source_dir() { return env_or("VITRT_TEST_SOURCE_DIR", VITRT_TEST_SOURCE_DIR); }
std::string samples_dir() { return source_dir() + "/samples"; }
std::string cli_path() { return env_or("VITRT_TEST_CLI", VITRT_TEST_CLI); }

std::string python_with_torch() {
    static const std::string py = [] {
        std::string p = VITRT_TEST_PYTHON;
        if (!fs::exists(p)) return std::string();
        const std::string cmd = p + " -c 'import torch, torchvision, PIL, numpy' >/dev/null 2>&1";
        return std::system(cmd.c_str()) == 0 ? p : std::string();
    }();
    return py;
}

namespace {
struct TempRoot {
    std::string path;
    TempRoot() {
        std::string tmpl = (fs::temp_directory_path() / "vitrt-test-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~TempRoot() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};
}  // namespace

std::string temp_dir() {
    static TempRoot root;
    static int counter = 0;
    fs::path p = fs::path(root.path) / std::to_string(counter++);
    fs::create_directories(p);
    return p.string();
}

std::vector<Labelled> labelled_images() {
    std::vector<Labelled> out;
    std::ifstream f(shared_data() + "/images/labels.csv");
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
        std::stringstream ss(line);
        std::string path, idx;
        std::getline(ss, path, ',');
        std::getline(ss, idx, ',');
        out.push_back({path, std::stoi(idx)});
    }
    return out;
}

std::vector<float> read_f32(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path);
    f.seekg(0, std::ios::end);
    const auto size = size_t(f.tellg());
    f.seekg(0);
    std::vector<float> v(size / 4);
    f.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * 4));
    return v;
}

void write_f32(const std::string& path, const float* data, size_t n) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(data), std::streamsize(n * 4));
    if (!f) throw std::runtime_error("cannot write " + path);
}

int run_command(const std::string& cmd, std::string* output) {
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return -1;
    char buf[4096];
    std::string out;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    if (output) *output = out;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace vitrt::test
