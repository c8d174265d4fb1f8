// A weight as a backend keeps it, and what it was asked to make of it.
//
// Precision belongs to the prepared weight, not to the backend: the loader passes a WeightSpec
// (role + precision + quantized data when the precision is an integer one) to
// Ops::prepare_weight, and the backend returns a Tensor whose `prepared` member derives from
// PreparedWeight. Every op that reads a weight checks, through prepared_as<T>(), that this backend
// made it, for this role, and dispatches on its precision. So one model can mix precisions layer
// by layer (some linear layers int8, some f32) without a model file knowing.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.hpp"
#include "ops/op_options.hpp"
#include "ops/precision.hpp"

namespace vitrt {

class Ops;

// An integer-quantized weight on the host, backend-neutral (what src/quant produces and a
// quantized checkpoint stores). Weight [N, K]:
//   w8a8, w8a8-dynamic, w8: q is s8 [N, K];  w4: q is u8 [N, ceil(K / 2)], element k of row n in
//   the low nibble of byte k / 2 when k is even, the high nibble when odd, two's complement s4.
//   scales: f32 [N] when group_size == 0 (per output channel), else [N, ceil(K / group_size)];
//   dequantized w[n, k] = q[n, k] * scales[n, k / group_size].
//   w8a8 (static) also has the input activation's u8 quantization: x ~ (q_x - zero_point) * act_scale.
struct QuantizedWeight {
    Precision precision = Precision::w8a8_dynamic;
    int64_t N = 0, K = 0;
    HostTensor q;
    HostTensor scales;
    int group_size = 0;
    float act_scale = 0.f;
    int act_zero_point = 0;
};

struct WeightSpec {
    WeightSpec(WeightRole role = WeightRole::param, Precision precision = Precision::f32,
               const QuantizedWeight* quantized = nullptr, const char* name = "")
        : role(role), precision(precision), quantized(quantized), name(name) {}
    WeightRole role = WeightRole::param;
    Precision precision = Precision::f32;
    const QuantizedWeight* quantized = nullptr;  // set exactly when precision is an integer one
    const char* name = "";                       // checkpoint name, for messages
};

class PreparedWeight {
public:
    PreparedWeight(const Ops* owner, WeightRole role, Precision precision)
        : owner(owner), role(role), precision(precision) {}
    virtual ~PreparedWeight() = default;
    const Ops* const owner;  // the backend that made it
    const WeightRole role;
    const Precision precision;
};

// The precision a tensor's prepared form was made in (f32 for plain tensors).
inline Precision precision_of(const Tensor& t) { return t.prepared ? t.prepared->precision : Precision::f32; }

// The prepared form of w as backend `self` made it for `role`, or vitrt::Error naming `op`.
// Cheap (two compares) on the hot path; builds a message only on failure.
[[noreturn]] void throw_foreign_weight(const Tensor& w, const Ops* self, WeightRole role, const char* op);
template <class T>
const T& prepared_as(const Tensor& w, const Ops* self, WeightRole role, const char* op) {
    const PreparedWeight* p = w.prepared.get();
    if (!p || p->owner != self || p->role != role) throw_foreign_weight(w, self, role, op);
    return static_cast<const T&>(*p);
}

}  // namespace vitrt
