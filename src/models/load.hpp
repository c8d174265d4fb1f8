// From a path to a ready model: open the source, pick the family, map names, resolve the config
// and preprocessing, prepare the weights for a backend.
#pragma once

#include <string>

#include "models/model.hpp"

namespace vitrt {

LoadedModel load_model(const std::string& path, Ops& ops, const LoadOptions& opts);

}  // namespace vitrt
