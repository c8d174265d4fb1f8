// Wire formats of `vitrt serve`:
//  - KServe v2 / Triton HTTP/REST JSON (https://kserve.github.io/website/modelserving/data_plane/v2_protocol/):
//    model metadata, infer requests with FP32 NCHW JSON tensors (flat or nested "data"), infer
//    responses, and Triton's classification extension ("parameters": {"classification": K} on an
//    output returns K "value:index:label" BYTES strings per image, value = the logit, as Triton does).
//  - /v1 classify: the JSON object `vitrt classify --json` prints per image.
// Requests are parsed in request.hpp, /v1 responses written in response_json.hpp (neither needs an
// engine); what needs the engine is here.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/request.hpp"
#include "serve/response_json.hpp"
#include "vitrt/vitrt.hpp"

namespace vitrt::serve {

// embed_dim: 0 when the model has no embedding output.
nlohmann::json model_metadata(const std::string& name, const Engine& engine, const std::string& precision,
                              int max_batch, size_t embed_dim);

// The spec requests to this engine are validated against.
inline InputSpec input_spec(const Engine& engine) {
    return {engine.input_height(), engine.input_width(), engine.num_classes()};
}

// outputs: one pointer per image to `per_image` floats (logits or embedding).
std::string infer_response(const std::string& model, const InferRequest& req, const Engine& engine,
                           const std::vector<const float*>& outputs, size_t per_image);

}  // namespace vitrt::serve
