#include "serve/protocol.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace vitrt::serve {

using json = nlohmann::json;

json model_metadata(const std::string& name, const Engine& engine, const std::string& precision, int max_batch,
                    size_t embed_dim) {
    json outputs = json::array({json{{"name", kOutputName}, {"datatype", "FP32"}, {"shape", json::array({-1, engine.num_classes()})}}});
    if (embed_dim)
        outputs.push_back(json{{"name", kEmbeddingName}, {"datatype", "FP32"}, {"shape", json::array({-1, embed_dim})}});
    return json{
        {"name", name},
        {"versions", json::array({"1"})},
        {"platform", "vitrt"},
        {"inputs", json::array({json{{"name", kInputName},
                                     {"datatype", "FP32"},
                                     {"shape", json::array({-1, 3, engine.input_height(), engine.input_width()})}}})},
        {"outputs", std::move(outputs)},
        {"parameters",
         json{{"architecture", engine.info().architecture},
              {"precision", precision},
              {"backend", engine.info().backend},
              {"max_batch_size", max_batch},
              {"preprocess", "POST raw JPEG/PNG bytes to /v1/models/" + name + "/classify (or /embed), or send preprocessed NCHW FP32"}}},
    };
}

std::string infer_response(const std::string& model, const InferRequest& req, const Engine& engine,
                           const std::vector<const float*>& outputs, size_t per_image) {
    json out{{"name", req.embedding ? kEmbeddingName : kOutputName}};
    json data = json::array();
    if (req.classification > 0) {
        const auto& labels = engine.labels();
        for (const float* l : outputs) {
            for (const auto& p : engine.top_k(l, req.classification)) {
                // Triton: std::to_string(value) ":" index [":" label]
                data.push_back(std::to_string(l[p.index]) + ":" + std::to_string(p.index) + ":" +
                               labels[size_t(p.index)]);
            }
        }
        out["datatype"] = "BYTES";
        out["shape"] = json::array({req.batch, req.classification});
    } else {
        for (const float* l : outputs)
            for (size_t k = 0; k < per_image; ++k) data.push_back(l[k]);
        out["datatype"] = "FP32";
        out["shape"] = json::array({req.batch, per_image});
    }
    out["data"] = std::move(data);
    json r{{"model_name", model}, {"model_version", "1"}, {"outputs", json::array({std::move(out)})}};
    if (!req.id.empty()) r["id"] = req.id;
    return r.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace vitrt::serve
