// What `vitrt serve` reads from a request: the KServe v2 / Triton infer request body (FP32 NCHW
// JSON tensors, flat or nested "data"; Triton's classification extension) and query parameters.
// These functions take the untrusted bytes; they need no engine (fuzz/fuzz_http.cpp runs them).
// Every client mistake is a ClientError (HTTP status + message naming the field), never a crash.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace vitrt::serve {

struct ClientError : std::runtime_error {
    ClientError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
    int status;
};

// What a model looks like on the wire: one input "input" [-1, 3, H, W] FP32; outputs "logits"
// [-1, classes] and, when the model has one, "embedding" [-1, D] (pooled pre-logits features).
// A request asks for one of them (default: logits).
inline constexpr const char* kInputName = "input";
inline constexpr const char* kOutputName = "logits";
inline constexpr const char* kEmbeddingName = "embedding";

// The model a request is validated against: input [N, 3, height, width], `classes` logits.
struct InputSpec {
    int height = 0, width = 0, classes = 0;
    size_t input_size() const { return size_t(3) * size_t(height) * size_t(width); }
};

struct InferRequest {
    std::string id;         // echoed when given
    int batch = 0;
    std::vector<float> data;  // batch * input_size floats, NCHW
    int classification = 0;   // > 0: top-K strings instead of raw logits
    bool embedding = false;   // output "embedding" instead of "logits"
};

// Parses and validates a v2 infer request against the model's input; max_images bounds the batch.
InferRequest parse_infer_request(const std::string& body, const InputSpec& model, int max_images, bool has_embedding);

// A query parameter's integer value in [lo, hi]; ClientError 400 naming `key` otherwise.
int parse_int_param(const char* key, const std::string& value, int lo, int hi);

}  // namespace vitrt::serve
