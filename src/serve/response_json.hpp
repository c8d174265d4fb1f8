// The JSON text of `vitrt serve`'s /v1 responses and of its errors. Always valid JSON and valid
// UTF-8 whatever the image names (they come from requests: multipart file names, ?name=) and
// labels hold; NaN/Inf numbers are written as null. No engine needed (fuzz/fuzz_http.cpp runs them).
#pragma once

#include <string>
#include <vector>

#include "vitrt/vitrt.hpp"

namespace vitrt::serve {

// {"image": ..., "embedding": [...]} for /v1/models/NAME/embed.
std::string embedding_json(const std::string& image, const float* embedding, size_t dim);

// The `vitrt classify --json` object (one line, no newline), optionally with the logits.
std::string classify_json(const std::string& image, const std::vector<Prediction>& top, const float* logits,
                          int classes);

std::string error_json(const std::string& message);

}  // namespace vitrt::serve
