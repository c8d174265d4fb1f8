// Reference backend: plain scalar C++ with double accumulation, one thread, no fusion.
// It is the oracle every other backend is tested against; never optimise it.
#pragma once

#include <memory>

#include "ops/ops.hpp"

namespace vitrt {

std::unique_ptr<Ops> make_ref_ops();

// Scalar building blocks shared with tests (all f32 in, f32 out, double accumulation).
namespace ref {
float gelu_erf(float x);
float apply_activation(Activation a, float x);
}  // namespace ref

}  // namespace vitrt
