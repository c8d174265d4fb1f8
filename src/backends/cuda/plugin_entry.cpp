// The one symbol libvitrt_cuda.so exports: the library dlopens the plugin on --device cuda and
// creates the backend through it (src/engine/cuda_plugin.cpp). Errors cross as text plus a kind,
// never as exceptions through the C boundary. The _v2 suffix is the ABI version: a stale plugin
// from an older build is reported as such instead of being called with the wrong arguments.
#include <cstdio>

#include "backends/cuda/cuda_ops.hpp"

// *kind on failure: 1 = the device is unavailable (no GPU, no driver, GPU too old: vitrt::DeviceUnavailable),
// 2 = any other error (vitrt::Error).
extern "C" __attribute__((visibility("default"))) vitrt::Ops* vitrt_cuda_plugin_create_v2(const char* precision,
                                                                                          char* error, unsigned long size,
                                                                                          int* kind) {
    *kind = 2;
    try {
        return vitrt::make_cuda_ops(precision).release();
    } catch (const vitrt::DeviceUnavailable& e) {
        *kind = 1;
        std::snprintf(error, size, "%s", e.what());
    } catch (const std::exception& e) {
        std::snprintf(error, size, "%s", e.what());
    } catch (...) {
        std::snprintf(error, size, "unknown error creating the cuda backend");
    }
    return nullptr;
}
