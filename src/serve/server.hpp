// `vitrt serve`: an HTTP server (cpp-httplib) over one Engine + dynamic Batcher per model.
//
// Endpoints (KServe v2 / Triton HTTP where one exists):
//   GET  /v2, /v2/health/live, /v2/health/ready, /v2/models/NAME, /v2/models/NAME/ready
//   POST /v2/models/NAME/infer          JSON FP32 NCHW tensors -> logits (or classification strings)
//   POST /v1/models/NAME/classify       raw JPEG/PNG body or multipart form -> `classify --json` objects
//   POST /v1/models/NAME/embed          same input -> {"image", "embedding"} (pooled pre-logits features)
//   GET  /metrics                       Prometheus text
// Decoding and preprocessing run on the HTTP worker threads; only batches reach the engine.
// SIGTERM/SIGINT: readiness turns 503, new inference requests get 503, queued and in-flight ones
// finish (up to exit_timeout_s), then the process exits 0.
#pragma once

#include <string>
#include <vector>

#include "serve/batcher.hpp"
#include "vitrt/vitrt.hpp"

namespace vitrt::serve {

struct ModelSpec {
    std::string name;  // empty: the model's architecture name, else the file stem
    std::string path;
};

struct ServeOptions {
    std::vector<ModelSpec> models;  // empty: the bundled default model
    EngineOptions engine;
    std::string host = "127.0.0.1";
    int port = 8000;  // 0: any free port (the log line says which)
    BatcherOptions batcher;
    int max_body_mb = 16;
    int exit_timeout_s = 30;
    int http_threads = 256;  // each open keep-alive connection holds one
    int decode_concurrency = 0;  // images decoded at once (HTTP threads); 0: half the cores, at least 1
};

// Parses "NAME=PATH" or "PATH".
ModelSpec parse_model_spec(const std::string& text);

// Loads the models, serves until SIGTERM/SIGINT, drains, returns the exit status. Throws
// vitrt::Error when a model does not load or the address cannot be bound.
int serve(const ServeOptions& options);

}  // namespace vitrt::serve
