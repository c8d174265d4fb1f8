#include "load/quantized_file.hpp"

#include <nlohmann/json.hpp>

#include "ops/precision.hpp"
#include "quant/weight_quant.hpp"

namespace vitrt {

std::map<std::string, QuantizedEntry> quantized_entries(const Checkpoint& ck) {
    std::map<std::string, QuantizedEntry> r;
    auto it = ck.metadata.find("vitrt.quantized");
    if (it == ck.metadata.end()) return r;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(it->second);
    } catch (const std::exception& e) {
        throw Error(ck.path + ": metadata vitrt.quantized is not JSON: " + e.what());
    }
    check(j.is_object(), ck.path + ": metadata vitrt.quantized must map weight names to their quantization");
    for (const auto& [name, v] : j.items()) {
        const std::string where = ck.path + ": quantized weight '" + name + "'";
        check(v.is_object() && v.contains("precision") && v["precision"].is_string(),
              where + ": missing \"precision\" (one of w8a8, w8a8-dynamic, w8, w4)");
        QuantizedEntry e;
        e.precision = v["precision"].get<std::string>();
        Precision p;
        try {
            p = parse_precision(e.precision);
        } catch (const Error&) {
            throw Error(where + ": unknown scheme '" + e.precision + "' (w8a8, w8a8-dynamic, w8, w4)");
        }
        check(precision_info(p).integer, where + ": scheme '" + e.precision + "' is not an integer scheme");
        constexpr int64_t kMaxDim = int64_t(1) << 30;  // bounds the shape arithmetic downstream
        check(v.contains("in_features") && v["in_features"].is_number_integer() && v["in_features"].get<int64_t>() > 0 &&
                  v["in_features"].get<int64_t>() <= kMaxDim,
              where + ": missing or invalid \"in_features\" (1 to " + std::to_string(kMaxDim) + ")");
        e.in_features = v["in_features"].get<int64_t>();
        if (v.contains("group_size")) {
            const auto& g = v["group_size"];
            check(g.is_number_integer() && g.get<int64_t>() >= 0 && g.get<int64_t>() <= 1 << 20 &&
                      valid_group_size(int(g.get<int64_t>())),
                  where + ": invalid \"group_size\" " + g.dump() + " (must be " + group_size_rule() + ")");
            e.group_size = int(g.get<int64_t>());
        }
        r[name] = e;
    }
    return r;
}

void describe_quantized_file(const Checkpoint& ck, ModelDescription& d) {
    const auto& m = ck.metadata;
    auto it = m.find("vitrt.format");
    if (it == m.end()) return;
    auto get = [&](const char* k) {
        auto f = m.find(k);
        return f == m.end() ? std::string() : f->second;
    };
    const std::string scheme = get("vitrt.scheme"), group = get("vitrt.group_size"), method = get("vitrt.calibration_method");
    std::string q = it->second + ": " + (scheme.empty() ? "scheme not recorded" : scheme);
    if (scheme == "w8a8") q += " (static)";
    if (!group.empty() && group != "0") q += ", group size " + group;
    if (!method.empty()) q += ", calibration " + method;
    if (!method.empty() && method.rfind("none", 0) != 0) {
        const std::string n = get("vitrt.calibration_images"), h = get("vitrt.calibration_list_fnv1a64");
        if (!n.empty()) q += " on " + n + " images" + (h.empty() ? "" : " (list " + h + ")");
    }
    d.fields.emplace_back("quantization", q);
    std::string kept = "none";
    try {
        const auto j = nlohmann::json::parse(get("vitrt.kept_float"));
        if (j.is_array() && !j.empty()) {
            kept = std::to_string(j.size()) + ":";
            for (const auto& k : j) kept += " " + (k.is_string() ? k.get<std::string>() : k.dump());
        }
    } catch (const std::exception&) {
        kept = get("vitrt.kept_float");
    }
    d.fields.emplace_back("kept_float", kept);
}

}  // namespace vitrt
