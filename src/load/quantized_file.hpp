// What a quantized checkpoint (`vitrt quantize`, quant/quantize_model.hpp) says about itself in its
// metadata: which linear weights it stores as integers and how (read at load), and the scheme,
// calibration and float-kept layers it was made with (shown by `vitrt info`).
#pragma once

#include <map>
#include <string>

#include "io/checkpoint.hpp"
#include "io/weight_reader.hpp"
#include "models/model.hpp"

namespace vitrt {

// The linear weights a `vitrt quantize` file stores as integers (its "vitrt.quantized" metadata);
// empty for float checkpoints. vitrt::Error naming the weight for a malformed entry.
std::map<std::string, QuantizedEntry> quantized_entries(const Checkpoint& ck);

// For a file with "vitrt.format" metadata: adds the fields "quantization" (scheme, group size,
// calibration method, image count and list hash) and "kept_float" (the linear weights the file
// keeps in float) to d. Malformed optional metadata is shown as it is, never an error (the
// tensors and "vitrt.quantized" are what loading trusts).
void describe_quantized_file(const Checkpoint& ck, ModelDescription& d);

}  // namespace vitrt
