#include "serve/response_json.hpp"

#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

namespace vitrt::serve {
namespace {

using json = nlohmann::json;

// As tools/cli_common.cpp json_number: 9 significant digits round-trip a float; NaN/Inf -> null.
std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream o;
    o.precision(9);
    o << v;
    return o.str();
}

// A JSON string literal; bytes that are not UTF-8 become U+FFFD (the text stays valid JSON).
std::string escape(const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

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
