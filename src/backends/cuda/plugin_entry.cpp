// The one symbol libvitrt_cuda.so exports: the library dlopens the plugin on --device cuda and
// creates the backend through it (src/engine/cuda_plugin.cpp). Errors cross as text, never as
// exceptions through the C boundary.
#include <cstdio>

#include "backends/cuda/cuda_ops.hpp"

extern "C" __attribute__((visibility("default"))) vitrt::Ops* vitrt_cuda_plugin_create(const char* precision,
                                                                                       char* error, unsigned long size) {
    try {
        return vitrt::make_cuda_ops(precision).release();
    } catch (const std::exception& e) {
        std::snprintf(error, size, "%s", e.what());
    } catch (...) {
        std::snprintf(error, size, "unknown error creating the cuda backend");
    }
    return nullptr;
}
