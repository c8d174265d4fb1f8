// Wire formats of `vitrt serve`:
//  - KServe v2 / Triton HTTP/REST JSON (https://kserve.github.io/website/modelserving/data_plane/v2_protocol/):
//    model metadata, infer requests with FP32 NCHW JSON tensors (flat or nested "data"), infer
//    responses, and Triton's classification extension ("parameters": {"classification": K} on an
//    output returns K "value:index:label" BYTES strings per image, value = the logit, as Triton does).
//  - /v1 classify: the JSON object `vitrt classify --json` prints per image.
// Every client mistake is a ClientError (HTTP status + message naming the field), never a crash.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vitrt/vitrt.hpp"

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

// embed_dim: 0 when the model has no embedding output.
nlohmann::json model_metadata(const std::string& name, const Engine& engine, const std::string& precision,
                              int max_batch, size_t embed_dim);

struct InferRequest {
    std::string id;         // echoed when given
    int batch = 0;
    std::vector<float> data;  // batch * input_size floats, NCHW
    int classification = 0;   // > 0: top-K strings instead of raw logits
    bool embedding = false;   // output "embedding" instead of "logits"
};

// Parses and validates a v2 infer request against the engine's input; max_images bounds the batch.
InferRequest parse_infer_request(const std::string& body, const Engine& engine, int max_images, bool has_embedding);

// outputs: one pointer per image to `per_image` floats (logits or embedding).
std::string infer_response(const std::string& model, const InferRequest& req, const Engine& engine,
                           const std::vector<const float*>& outputs, size_t per_image);

// {"image": ..., "embedding": [...]} for /v1/models/NAME/embed.
std::string embedding_json(const std::string& image, const float* embedding, size_t dim);

// The `vitrt classify --json` object (one line, no newline), optionally with the logits.
std::string classify_json(const std::string& image, const std::vector<Prediction>& top, const float* logits,
                          int classes);

std::string error_json(const std::string& message);

}  // namespace vitrt::serve
