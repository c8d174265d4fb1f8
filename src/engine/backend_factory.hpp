// Backend selection by name. The only place that lists backends.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/ops.hpp"

namespace vitrt {

// "ref" (scalar oracle, single thread, f32 only) or "cpu" (oneDNN GEMMs + own kernels, `threads`
// threads, 0 = all cores). precision: a token of parse_precision(). Unknown names and unsupported
// combinations throw vitrt::Error listing what is available.
std::unique_ptr<Ops> make_backend(const std::string& name, int threads, const std::string& precision = "f32");
// "f32", "bf16", "f16" -> DType; vitrt::Error otherwise.
DType parse_precision(const std::string& s);
std::vector<std::string> backend_names();

}  // namespace vitrt
