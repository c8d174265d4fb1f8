// libFuzzer target: what `vitrt serve` does with request bytes, without the socket layer (HTTP
// framing and multipart/form-data splitting are cpp-httplib's: Debian's compiled library, not
// instrumented here; the parts it hands over are image bytes, fuzzed by the jpeg/png targets, and
// names). The input is used as:
//  - a KServe v2 infer request body: parse_infer_request against a [N, 3, 4, 4] model with 5
//    classes, with and without an embedding output. Contract: a request that parses has the
//    batch and data size it says; anything else is a ClientError with a 4xx status.
//  - a query parameter value (?top_k=): parse_int_param.
//  - a request-controlled string (multipart file name, ?name=, label, error message) in the /v1
//    response JSON: the text must parse back as JSON (strictly: valid UTF-8), and a name that is
//    valid UTF-8 must come back unchanged.
#include <nlohmann/json.hpp>

#include "serve/request.hpp"
#include "serve/response_json.hpp"

namespace {

using nlohmann::json;

json must_parse(const std::string& text) {
    try {
        return json::parse(text);
    } catch (const json::exception&) {
        __builtin_trap();  // invalid JSON or UTF-8 in a response
    }
}

bool valid_utf8(const std::string& s) {
    try {
        (void)json(s).dump();
        return true;
    } catch (const json::exception&) {
        return false;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace vitrt::serve;
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    const InputSpec spec{4, 4, 5};
    for (bool has_embedding : {false, true}) {
        try {
            const InferRequest r = parse_infer_request(bytes, spec, 8, has_embedding);
            if (r.batch < 1 || r.batch > 8 || r.data.size() != size_t(r.batch) * spec.input_size() ||
                r.classification < 0 || r.classification > spec.classes || (r.embedding && !has_embedding))
                __builtin_trap();
            must_parse(classify_json(r.id, {}, nullptr, 0));
        } catch (const ClientError& e) {
            if (e.status < 400 || e.status > 499) __builtin_trap();
            must_parse(error_json(e.what()));
        }
    }
    try {
        const int k = parse_int_param("top_k", bytes, 1, 1000);
        if (k < 1 || k > 1000) __builtin_trap();
    } catch (const ClientError&) {
    }
    const float logits[2] = {1.5f, -0.25f}, inf = __builtin_inff();
    const std::vector<vitrt::Prediction> top{{0, bytes, 0.75f}, {1, "b", inf}};
    const json c = must_parse(classify_json(bytes, top, logits, 2));
    must_parse(embedding_json(bytes, logits, 2));
    must_parse(error_json(bytes));
    if (valid_utf8(bytes) && (c["image"] != bytes || c["top_k"][0]["label"] != bytes)) __builtin_trap();
    return 0;
}
