#include "engine/cuda_plugin.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace fs = std::filesystem;

namespace vitrt {
namespace {

using CreateFn = Ops* (*)(const char*, char*, unsigned long);

std::vector<std::string> candidates() {
    std::vector<std::string> c;
    if (const char* env = std::getenv("VITRT_CUDA_PLUGIN"); env && *env) c.push_back(env);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        c.push_back((exe.parent_path() / "libvitrt_cuda.so").string());
        c.push_back((exe.parent_path().parent_path() / "lib" / "libvitrt_cuda.so").string());
    }
#ifdef VITRT_CUDA_PLUGIN_PATH
    c.push_back(VITRT_CUDA_PLUGIN_PATH);
#endif
    return c;
}

CreateFn find_plugin() {
    static std::mutex m;
    static CreateFn fn = nullptr;
    std::lock_guard<std::mutex> lock(m);
    if (fn) return fn;
    std::string tried;
    for (const auto& path : candidates()) {
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            tried += "\n  " + path + " (absent)";
            continue;
        }
        void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            tried += "\n  " + path + " (" + dlerror() + ")";
            continue;
        }
        fn = reinterpret_cast<CreateFn>(dlsym(h, "vitrt_cuda_plugin_create"));
        if (fn) return fn;
        tried += "\n  " + path + " (no vitrt_cuda_plugin_create symbol)";
    }
    throw DeviceUnavailable("the cuda backend is not available: libvitrt_cuda.so could not be loaded (it is built when the CUDA "
                "toolkit is found at configure time). Tried:" + tried);
}

}  // namespace

std::unique_ptr<Ops> load_cuda_backend(const std::string& precision) {
    CreateFn create = find_plugin();
    char err[1024] = {};
    Ops* ops = create(precision.c_str(), err, sizeof err);
    if (!ops) {
        const std::string msg = err[0] ? err : "the cuda backend could not be created";
        // The plugin reports a missing device as "no CUDA device: ..." (cuda_ops.hpp).
        if (msg.rfind("no CUDA device", 0) == 0) throw DeviceUnavailable(msg);
        throw Error(msg);
    }
    return std::unique_ptr<Ops>(ops);
}

}  // namespace vitrt
