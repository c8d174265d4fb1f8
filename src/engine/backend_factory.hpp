// Backend selection by name. The only place that lists backends.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/ops.hpp"

namespace vitrt {

// "ref" (scalar oracle, single thread) or "cpu" (oneDNN GEMMs + own kernels, `threads` threads;
// 0 = all cores). Unknown names throw vitrt::Error listing the known ones.
std::unique_ptr<Ops> make_backend(const std::string& name, int threads);
std::vector<std::string> backend_names();

}  // namespace vitrt
