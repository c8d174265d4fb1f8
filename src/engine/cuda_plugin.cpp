#include "engine/cuda_plugin.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace fs = std::filesystem;

namespace vitrt {
namespace {

using CreateFn = Ops* (*)(const char*, char*, unsigned long, int*);  // plugin_entry.cpp

std::vector<std::string> candidates() {
    std::vector<std::string> c;
    if (const char* env = std::getenv("VITRT_CUDA_PLUGIN"); env && *env) c.push_back(env);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        c.push_back((exe.parent_path() / "libvitrt_cuda.so").string());
        c.push_back((exe.parent_path().parent_path() / "lib" / "libvitrt_cuda.so").string());
        c.push_back((exe.parent_path().parent_path() / "libvitrt_cuda.so").string());  // build/tests -> build
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
        fn = reinterpret_cast<CreateFn>(dlsym(h, "vitrt_cuda_plugin_create_v2"));
        if (fn) return fn;
        tried += "\n  " + path + " (no vitrt_cuda_plugin_create_v2 symbol: a plugin from another vitrt version)";
    }
    throw DeviceUnavailable("the cuda backend is not available: libvitrt_cuda.so could not be loaded (it is built when the CUDA "
                "toolkit is found at configure time). Tried:" + tried);
}

}  // namespace

std::unique_ptr<Ops> load_cuda_backend(const std::string& precision) {
    CreateFn create = find_plugin();
    char err[1024] = {};
    int kind = 0;
    Ops* ops = create(precision.c_str(), err, sizeof err, &kind);
    if (!ops) {
        const std::string msg = err[0] ? err : "the cuda backend could not be created";
        if (kind == 1) throw DeviceUnavailable(msg);  // no GPU / driver: callers may skip on this kind
        throw Error(msg);
    }
    return std::unique_ptr<Ops>(ops);
}

}  // namespace vitrt
