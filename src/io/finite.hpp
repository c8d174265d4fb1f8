// Finite-value checks for loaded weights: a NaN or Inf in a checkpoint poisons every output
// (softmax of NaN), so loaders refuse such tensors by name instead of running them.
#pragma once

#include "core/tensor.hpp"

namespace vitrt {

// True when every element of t (host memory) is finite: always for integer dtypes.
bool all_finite(const HostTensor& t);

}  // namespace vitrt
