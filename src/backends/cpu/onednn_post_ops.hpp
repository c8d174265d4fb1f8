// Shared by the oneDNN matmul and convolution wrappers: an Activation as a oneDNN eltwise post-op.
#pragma once

#include <dnnl.hpp>

#include "ops/op_options.hpp"

namespace vitrt::cpu {

inline dnnl::algorithm eltwise_of(Activation a) {
    switch (a) {
        case Activation::gelu_erf: return dnnl::algorithm::eltwise_gelu_erf;
        case Activation::relu: return dnnl::algorithm::eltwise_relu;
        case Activation::sigmoid: return dnnl::algorithm::eltwise_logistic;
        case Activation::none: break;
    }
    return dnnl::algorithm::undef;
}

}  // namespace vitrt::cpu
