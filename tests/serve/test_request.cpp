// `vitrt serve` request parsing without a server (src/serve/request.cpp, also fuzzed by
// fuzz/fuzz_http.cpp): a valid v2 infer request parses to the batch and data it states; client
// mistakes are ClientError 400 naming the field. Exact checks only.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "serve/request.hpp"
#include "serve/response_json.hpp"

namespace vitrt::serve {
namespace {

using json = nlohmann::json;

const InputSpec kSpec{2, 2, 5};  // [N, 3, 2, 2]: 12 values per image

std::string body(const json& data, const json& shape = {1, 3, 2, 2}) {
    return json{{"inputs", {{{"name", "input"}, {"datatype", "FP32"}, {"shape", shape}, {"data", data}}}}}.dump();
}

std::string error_of(const std::string& b) {
    try {
        parse_infer_request(b, kSpec, 4, false);
    } catch (const ClientError& e) {
        EXPECT_EQ(e.status, 400);
        return e.what();
    }
    return "";
}

TEST(ServeRequest, ParsesAndNamesTheFieldOfEachMistake) {
    std::vector<float> x(12, 0.5f);
    const InferRequest r = parse_infer_request(body(x), kSpec, 4, false);
    EXPECT_EQ(r.batch, 1);
    EXPECT_EQ(r.data.size(), 12u);
    // Out of the FP32 range: would become Inf, and every output NaN.
    json big = x;
    big[3] = 1e300;
    EXPECT_NE(error_of(body(big)).find("inputs[0].data: 1e+300 is out of the FP32 range"), std::string::npos)
        << error_of(body(big));
    big[3] = -3.5e38;
    EXPECT_NE(error_of(body(big)).find("out of the FP32 range"), std::string::npos);
    big[3] = 3.4e38;  // FLT_MAX is 3.40282e38: in range
    EXPECT_EQ(error_of(body(big)), "");
    EXPECT_NE(error_of(body(x, {5, 3, 2, 2})).find("inputs[0].shape"), std::string::npos);  // batch over max_images
    EXPECT_NE(error_of(body(std::vector<float>(11, 0.f))).find("has 11 values, the shape needs 12"), std::string::npos);
    EXPECT_NE(error_of("{\"inputs\": [").find("not valid JSON"), std::string::npos);
}

TEST(ServeRequest, QueryIntegers) {
    EXPECT_EQ(parse_int_param("top_k", "5", 1, 10), 5);
    for (const char* bad : {"", "0", "11", "5x", " 5", "1e1", "99999999999999999999"}) {
        try {
            parse_int_param("top_k", bad, 1, 10);
            ADD_FAILURE() << bad;
        } catch (const ClientError& e) {
            EXPECT_EQ(std::string(e.what()).rfind("top_k: expected an integer in 1..10", 0), 0u) << e.what();
        }
    }
}

TEST(ServeRequest, ResponseJsonIsValidWhateverTheNames) {
    const std::string latin1 = "caf\xe9.jpg";
    const float logits[2] = {1.f, __builtin_nanf("")};
    const auto c = json::parse(classify_json(latin1, {{0, "\xff", 0.5f}}, logits, 2));  // throws on invalid UTF-8
    EXPECT_EQ(c["logits"][1], nullptr);
    EXPECT_NO_THROW(json::parse(error_json(latin1)));
    EXPECT_NO_THROW(json::parse(embedding_json(latin1, logits, 2)));
}

}  // namespace
}  // namespace vitrt::serve
