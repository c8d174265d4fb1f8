// A checkpoint: a set of named host tensors read from one file, plus its free-form metadata.
//
// Readers (safetensors, npz) validate every byte they trust: header sizes, offsets, dtypes and
// shapes. Tensors are views into the file (mmap) where the format allows it; the Checkpoint keeps
// the mapping alive. Readers throw vitrt::Error naming the file and the offending entry.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace vitrt {

struct Checkpoint {
    std::string path;
    std::string format;  // "safetensors" or "npz"
    std::map<std::string, HostTensor> tensors;
    std::map<std::string, std::string> metadata;  // safetensors "__metadata__" (string values)
    // Entries the reader did not load because they are not floating point (e.g. BatchNorm's
    // int64 num_batches_tracked in safetensors, non-.npy members of an npz). Kept so a model
    // loader can report them with the unused keys instead of failing on them.
    std::vector<std::string> skipped;

    bool has(const std::string& name) const { return tensors.count(name) != 0; }
    // The tensor or a vitrt::Error naming the missing key and the file.
    const HostTensor& get(const std::string& name) const;
};

// safetensors: mmap, F32/F16/BF16 tensors as zero-copy views (copied only when a view would be
// misaligned for its dtype). Integer/bool tensors are validated, then listed in `skipped`; any
// other dtype (F64, F8_*, ...) is rejected with the tensor's name.
Checkpoint load_safetensors(const std::string& path);

// Google .npz (zip of .npy, stored or deflated, zip64 included): float32/float16 arrays stay
// as they are, float64 is converted to f32; C or Fortran order (Fortran is transposed to C).
// Tensor names are the member names without ".npy" ("Transformer/encoder_norm/scale").
Checkpoint load_npz(const std::string& path);

// Picks the reader by content (safetensors vs zip magic), falling back to the extension.
Checkpoint load_checkpoint(const std::string& path);

// Writer used by tools and tests: every tensor with its own dtype (F32/F16/BF16), ordered by
// dtype size then name so each tensor stays aligned; the header is space-padded to 8 bytes.
// Written to a temporary file and renamed, so a failed write never leaves a half file.
void save_safetensors(const std::string& path, const std::map<std::string, HostTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace vitrt
