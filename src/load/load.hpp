// From a path to a ready model: open the source, pick the family, map names, resolve the config
// and preprocessing, prepare the weights for a backend.
#pragma once

#include <string>

#include <map>

#include "io/weight_reader.hpp"
#include "models/model.hpp"
#include "load/weight_preparer.hpp"

namespace vitrt {

LoadedModel load_model(const std::string& path, Ops& ops, const LoadOptions& opts);
// Checkpoints with FastViT tensor names (load/fastvit_load.cpp).
struct ModelSource;
struct Checkpoint;
LoadedModel load_fastvit(ModelSource& src, Ops& ops, const LoadOptions& opts);

// Adds a note listing the checkpoint entries the reader skipped (integer/bool tensors, non-.npy
// members), so nothing is dropped silently.
void note_skipped(const Checkpoint& ck, ModelDescription& d);
// Records in d what precision the preparer gave the linear weights (and which stayed f32).
void describe_precision(const WeightPreparer& prep, ModelDescription& d);

}  // namespace vitrt
