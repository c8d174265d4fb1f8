#include "serve/request.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

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
            const double d = v.get<double>();
            if (!(std::fabs(d) <= double(std::numeric_limits<float>::max())))  // would be Inf as FP32
                bad("inputs[0].data: " + v.dump() + " is out of the FP32 range");
            out.push_back(float(d));
        } else if (v.is_array() && depth > 1) {
            flatten(v, depth - 1, limit, out);
        } else {
            bad("inputs[0].data: expected numbers (FP32), got " + type_name(v));
        }
    }
}

}  // namespace

InferRequest parse_infer_request(const std::string& body, const InputSpec& model, int max_images, bool has_embedding) {
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
    const std::vector<long long> want{-1, 3, model.height, model.width};
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
    const size_t count = size_t(r.batch) * model.input_size();
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
                    if (!k.is_number_integer() || k.get<long long>() < 1 || k.get<long long>() > model.classes)
                        bad("outputs[0].parameters.classification: expected an integer in 1.." +
                            std::to_string(model.classes));
                    r.classification = k.get<int>();
                }
            }
        }
    }
    return r;
}

int parse_int_param(const char* key, const std::string& value, int lo, int hi) {
    int x = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), x);
    if (ec != std::errc() || p != value.data() + value.size() || x < lo || x > hi)
        throw ClientError(400, std::string(key) + ": expected an integer in " + std::to_string(lo) + ".." +
                                   std::to_string(hi) + ", got \"" + value + "\"");
    return x;
}

}  // namespace vitrt::serve
