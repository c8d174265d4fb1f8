// Loading the cuda backend plugin (libvitrt_cuda.so) on demand.
#pragma once

#include <memory>
#include <string>

#include "ops/ops.hpp"

namespace vitrt {

// Looks for the plugin in $VITRT_CUDA_PLUGIN, next to the running executable, in ../lib and ..,
// and where the build put it. No plugin, or no usable GPU: vitrt::DeviceUnavailable naming the
// places looked at (or the plugin's reason); any other failure: vitrt::Error. The plugin stays
// loaded for the life of the process.
std::unique_ptr<Ops> load_cuda_backend(const std::string& precision);

}  // namespace vitrt
