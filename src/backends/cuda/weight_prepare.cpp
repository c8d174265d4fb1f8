#include "backends/cuda/weight_prepare.hpp"

#include <cstring>

namespace vitrt::cuda {
namespace {

std::vector<char> host_in(const HostTensor& f32, DType dt) {
    const int64_t n = f32.view.numel();
    std::vector<char> out(size_t(n) * dtype_size(dt));
    if (dt == DType::f32) {
        std::memcpy(out.data(), f32.f32(), out.size());
    } else {
        auto* o = reinterpret_cast<uint16_t*>(out.data());
        for (int64_t i = 0; i < n; ++i) o[i] = dt == DType::bf16 ? f32_to_bf16(f32.f32()[i]) : f32_to_f16(f32.f32()[i]);
    }
    return out;
}

}  // namespace

Tensor prepare_cuda_weight(const Ops* owner, const HostTensor& w, const WeightSpec& spec, DType compute,
                           const DeviceUpload& upload) {
    HostTensor f = to_f32(w);
    Tensor t;
    t.shape = f.view.shape;
    auto p = std::make_shared<CudaWeight>(owner, spec.role, spec.precision);
    if (spec.role == WeightRole::linear) {
        check(t.rank() == 2, "cuda: linear weight must be 2-D, got " + shape_str(t.shape));
        p->data = upload(host_in(f, compute), "a linear weight");
        t.dtype = compute;
    } else if (spec.role == WeightRole::conv) {
        check(t.rank() == 4, "cuda: conv weight must be [O, Cin/groups, kh, kw], got " + shape_str(t.shape));
        p->O = t.dim(0), p->Ig = t.dim(1), p->KH = t.dim(2), p->KW = t.dim(3);
        HostTensor ohwi = HostTensor::zeros_f32({p->O, p->KH, p->KW, p->Ig});
        for (int64_t o = 0; o < p->O; ++o)
            for (int64_t i = 0; i < p->Ig; ++i)
                for (int64_t y = 0; y < p->KH; ++y)
                    for (int64_t x = 0; x < p->KW; ++x)
                        ohwi.mutable_f32()[((o * p->KH + y) * p->KW + x) * p->Ig + i] =
                            f.f32()[((o * p->Ig + i) * p->KH + y) * p->KW + x];
        p->data = upload(host_in(ohwi, compute), "a conv weight");
        t.dtype = compute;
    } else {
        p->data = upload(host_in(f, DType::f32), "a parameter");
        if (compute != DType::f32) {
            p->half = upload(host_in(f, compute), "a parameter");
            p->half_type = compute;
        }
        t.dtype = DType::f32;
    }
    t.data = p->data.get();
    t.prepared = std::move(p);
    return t;
}

}  // namespace vitrt::cuda
