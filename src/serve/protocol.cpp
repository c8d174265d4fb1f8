#include "serve/protocol.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace vitrt::serve {
namespace {

using json = nlohmann::json;

[[noreturn]] void bad(const std::string& msg) { throw ClientError(400, msg); }

std::string type_name(const json& j) { return j.type_name(); }

// Appends the numbers of a flat or nested (row-major) array; depth is bounded by the shape's rank.
void flatten(const json& j, int depth, size_t limit, std::vector<float>& out) {
    if (!j.is_array()) bad("inputs[0].data: expected an array of numbers, got " + type_name(j));
    for (const json& v : j) {
        if (v.is_number()) {
            if (out.size() >= limit) bad("inputs[0].data: more values than the shape has (" + std::to_string(limit) + ")");
            out.push_back(v.get<float>());
        } else if (v.is_array() && depth > 1) {
            flatten(v, depth - 1, limit, out);
        } else {
            bad("inputs[0].data: expected numbers (FP32), got " + type_name(v));
        }
    }
}

// As tools/cli_common.cpp json_number: 9 significant digits round-trip a float; NaN/Inf -> null.
std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream o;
    o.precision(9);
    o << v;
    return o.str();
}

std::string escape(const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

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

InferRequest parse_infer_request(const std::string& body, const Engine& engine, int max_images, bool has_embedding) {
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
        // Parse again with exceptions only to get the parser's message (position and cause).
        try {
            json again = json::parse(body);
            (void)again;
        } catch (const json::exception& e) {
            bad(std::string("request body is not valid JSON: ") + e.what());
        }
        bad("request body is not valid JSON");
    }
    if (!j.is_object()) bad("request body: expected a JSON object, got " + type_name(j));
    InferRequest r;
    if (j.contains("id")) {
        if (!j["id"].is_string()) bad("id: expected a string");
        r.id = j["id"].get<std::string>();
    }
    if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty())
        bad("inputs: expected a non-empty array of tensors");
    if (j["inputs"].size() != 1) bad("inputs: the model has one input (\"input\"), got " + std::to_string(j["inputs"].size()));
    const json& in = j["inputs"][0];
    if (!in.is_object()) bad("inputs[0]: expected an object with name, shape, datatype, data");
    if (!in.contains("name") || !in["name"].is_string() || in["name"] != kInputName)
        bad(std::string("inputs[0].name: expected \"") + kInputName + "\"");
    if (!in.contains("datatype") || !in["datatype"].is_string() || in["datatype"] != "FP32")
        bad("inputs[0].datatype: expected \"FP32\"" +
            (in.contains("datatype") ? ", got " + in["datatype"].dump() : std::string()));
    const std::vector<long long> want{-1, 3, engine.input_height(), engine.input_width()};
    auto shape_text = [&] {
        return "[N, 3, " + std::to_string(want[2]) + ", " + std::to_string(want[3]) + "] (N = 1.." +
               std::to_string(max_images) + ")";
    };
    if (!in.contains("shape") || !in["shape"].is_array() || in["shape"].size() != 4)
        bad("inputs[0].shape: expected " + shape_text());
    std::vector<long long> shape;
    for (const json& d : in["shape"]) {
        if (!d.is_number_integer()) bad("inputs[0].shape: expected integers, got " + in["shape"].dump());
        shape.push_back(d.get<long long>());
    }
    if (shape[0] < 1 || shape[0] > max_images || shape[1] != 3 || shape[2] != want[2] || shape[3] != want[3])
        bad("inputs[0].shape: expected " + shape_text() + ", got " + in["shape"].dump());
    r.batch = int(shape[0]);
    if (in.contains("parameters") && in["parameters"].is_object() && in["parameters"].contains("binary_data_size"))
        bad("inputs[0].parameters.binary_data_size: the binary tensor extension is not supported; send JSON data");
    const size_t count = size_t(r.batch) * engine.input_size();
    if (!in.contains("data")) bad("inputs[0].data: missing");
    r.data.reserve(count);
    flatten(in["data"], 4, count, r.data);
    if (r.data.size() != count)
        bad("inputs[0].data: has " + std::to_string(r.data.size()) + " values, the shape needs " + std::to_string(count));
    if (j.contains("outputs")) {
        const json& outs = j["outputs"];
        if (!outs.is_array()) bad("outputs: expected an array");
        const std::string names = has_embedding ? "\"logits\" or \"embedding\"" : "\"logits\"";
        if (outs.size() > 1) bad("outputs: ask for one output per request (" + names + ")");
        if (outs.size() == 1) {
            const json& o = outs[0];
            if (!o.is_object() || !o.contains("name") ||
                !(o["name"] == kOutputName || (has_embedding && o["name"] == kEmbeddingName)))
                bad("outputs[0].name: expected " + names);
            r.embedding = o["name"] == kEmbeddingName;
            if (o.contains("parameters")) {
                const json& p = o["parameters"];
                if (!p.is_object()) bad("outputs[0].parameters: expected an object");
                if (p.contains("binary_data") && p["binary_data"] == true)
                    bad("outputs[0].parameters.binary_data: the binary tensor extension is not supported");
                if (p.contains("classification")) {
                    if (r.embedding) bad("outputs[0].parameters.classification: only for the \"logits\" output");
                    const json& k = p["classification"];
                    if (!k.is_number_integer() || k.get<long long>() < 1 || k.get<long long>() > engine.num_classes())
                        bad("outputs[0].parameters.classification: expected an integer in 1.." +
                            std::to_string(engine.num_classes()));
                    r.classification = k.get<int>();
                }
            }
        }
    }
    return r;
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

std::string embedding_json(const std::string& image, const float* embedding, size_t dim) {
    std::string o = "{\"image\": " + escape(image) + ", \"embedding\": [";
    for (size_t i = 0; i < dim; ++i) o += (i ? ", " : "") + number(embedding[i]);
    return o + "]}";
}

std::string classify_json(const std::string& image, const std::vector<Prediction>& top, const float* logits,
                          int classes) {
    // Same text as tools/cmd_classify.cpp.
    std::ostringstream o;
    o << "{\"image\": " << escape(image) << ", \"top_k\": [";
    for (size_t i = 0; i < top.size(); ++i)
        o << (i ? ", " : "") << "{\"index\": " << top[i].index << ", \"label\": " << escape(top[i].label)
          << ", \"prob\": " << number(top[i].prob) << "}";
    o << "]";
    if (logits) {
        o << ", \"logits\": [";
        for (int i = 0; i < classes; ++i) o << (i ? ", " : "") << number(logits[i]);
        o << "]";
    }
    o << "}";
    return o.str();
}

std::string error_json(const std::string& message) {
    return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace vitrt::serve
