// From a path to a ready model: open the source, pick the family, map names, resolve the config
// and preprocessing, prepare the weights for a backend.
#pragma once

#include <string>

#include "models/model.hpp"
#include "ops/weight_preparer.hpp"

namespace vitrt {

LoadedModel load_model(const std::string& path, Ops& ops, const LoadOptions& opts);
// Records in d what precision the preparer gave the linear weights (and which stayed f32).
void describe_precision(const WeightPreparer& prep, ModelDescription& d);

}  // namespace vitrt
