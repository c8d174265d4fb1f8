// Helpers for the cuda tests: skip cleanly without a GPU, move host f32 tensors to and from the
// device in a chosen dtype.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/backend_factory.hpp"

namespace vitrt::test {

// Empty when a cuda backend can be created; otherwise why not: vitrt::DeviceUnavailable (no plugin
// built or found, no driver, no GPU). The kind decides, not the message; any other creation error
// is a real failure and propagates.
inline std::string cuda_unavailable_reason() {
    static const std::string reason = [] {
        try {
            make_backend("cuda");
            return std::string();
        } catch (const DeviceUnavailable& e) {  // no plugin, no GPU: skip; any other error is a failure
            return std::string(e.what());
        }
    }();
    return reason;
}

#define VITRT_REQUIRE_CUDA()                                                                 \
    do {                                                                                     \
        const std::string why_ = ::vitrt::test::cuda_unavailable_reason();                   \
        if (!why_.empty()) GTEST_SKIP() << "needs a CUDA GPU (sm_80+): " << why_;            \
    } while (0)

// A device tensor (backend memory from Ops::allocate) holding a host f32 tensor converted to dt.
struct DevTensor {
    std::shared_ptr<void> mem;
    Tensor t;
};

inline DevTensor to_device(Ops& ops, const HostTensor& host, DType dt) {
    DevTensor d;
    d.t.shape = host.view.shape;
    d.t.dtype = dt;
    d.mem = ops.allocate(d.t.nbytes());
    d.t.data = d.mem.get();
    const int64_t n = host.view.numel();
    if (dt == DType::f32) {
        ops.upload(d.t.data, host.f32(), d.t.nbytes());
    } else {
        std::vector<uint16_t> h(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) h[size_t(i)] = dt == DType::bf16 ? f32_to_bf16(host.f32()[i]) : f32_to_f16(host.f32()[i]);
        ops.upload(d.t.data, h.data(), d.t.nbytes());
    }
    return d;
}

inline HostTensor to_host(Ops& ops, const Tensor& t) {
    HostTensor h = HostTensor::zeros_f32(t.shape);
    const int64_t n = t.numel();
    if (t.dtype == DType::f32) {
        ops.download(h.mutable_f32(), t.data, t.nbytes());
    } else {
        std::vector<uint16_t> b(static_cast<size_t>(n));
        ops.download(b.data(), t.data, t.nbytes());
        for (int64_t i = 0; i < n; ++i) h.mutable_f32()[i] = t.dtype == DType::bf16 ? bf16_to_f32(b[size_t(i)]) : f16_to_f32(b[size_t(i)]);
    }
    return h;
}

// The value a host f32 tensor has after a round trip through dt (what the GPU sees).
inline HostTensor rounded(const HostTensor& host, DType dt) {
    HostTensor r = HostTensor::zeros_f32(host.view.shape);
    for (int64_t i = 0; i < host.view.numel(); ++i) {
        const float v = host.f32()[i];
        r.mutable_f32()[i] = dt == DType::f32 ? v : dt == DType::bf16 ? bf16_to_f32(f32_to_bf16(v)) : f16_to_f32(f32_to_f16(v));
    }
    return r;
}

}  // namespace vitrt::test
