// An Ops decorator that times every op by kind (GEMM, conv, attention, norm, elementwise, other), for
// `vitrt bench --profile`. Synchronises the backend after each op so the times are its own.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "ops/ops.hpp"

namespace vitrt {

struct OpProfile {
    std::map<std::string, double> seconds;  // by kind
    std::map<std::string, long> calls;
};

std::unique_ptr<Ops> make_profiling_ops(Ops& inner, OpProfile& profile);

}  // namespace vitrt
