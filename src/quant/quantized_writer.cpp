#include "quant/quantized_writer.hpp"

#include <memory>

#include "io/checkpoint.hpp"
#include "io/model_source.hpp"
#include "io/names/vit_names.hpp"
#include "quant/weight_quant.hpp"

namespace vitrt {

void write_quantized_file(const std::string& out_path, const std::map<std::string, LayerPlan>& plan,
                          const QuantizedFileInfo& info) {
    ModelSource src = open_model_source(info.source);
    const auto tensors = vit_tensors_as_timm(src.checkpoint, detect_vit_naming(src.checkpoint));
    std::map<std::string, HostTensor> out;
    nlohmann::json entries = nlohmann::json::object();
    for (const auto& [name, t] : tensors) {
        auto it = plan.find(name);
        if (it == plan.end()) {
            out[name] = t;
            continue;
        }
        const LayerPlan& p = it->second;
        const QuantizedWeight q = quantize_weight(t, p.precision, p.group_size);
        const std::string base = name.substr(0, name.rfind('.'));
        out[name] = q.q;
        out[name + "_scale"] = q.scales;
        nlohmann::json e = {{"precision", precision_name(p.precision)}, {"group_size", q.group_size}, {"in_features", q.K}};
        if (p.precision == Precision::w8a8) {
            HostTensor s = HostTensor::zeros_f32({1});
            s.mutable_f32()[0] = p.act.scale;
            auto zp = std::make_shared<int32_t>(p.act.zero_point);
            HostTensor z;
            z.view.data = zp.get();
            z.view.dtype = DType::i32;
            z.view.shape = {1};
            z.owner = zp;
            out[base + ".input_scale"] = s;
            out[base + ".input_zero_point"] = z;
            e["calibration"] = p.calibration;
        }
        entries[name] = e;
    }
    check(entries.size() == plan.size(), "quantize: some linear weights were not found under their timm names");

    std::string m = info.source;
    while (m.size() > 1 && m.back() == '/') m.pop_back();
    const size_t slash = m.find_last_of('/');
    const std::map<std::string, std::string> meta = {
        {"format", "pt"},
        {"model", info.architecture},
        {"vitrt.format", "quantized-v1"},
        {"vitrt.scheme", precision_name(info.scheme)},
        {"vitrt.group_size", std::to_string(info.group_size)},
        {"vitrt.calibration_method", info.calibration_method},
        {"vitrt.calibration_images", std::to_string(info.calibration_images)},
        {"vitrt.calibration_list_fnv1a64", info.calibration_list_hash},
        {"vitrt.source", slash == std::string::npos ? m : m.substr(slash + 1)},
        {"vitrt.kept_float", nlohmann::json(info.kept_float).dump()},
        {"vitrt.quantized", entries.dump()},
        {"vitrt.config", info.config.dump()},
    };
    save_safetensors(out_path, out, meta);
}

}  // namespace vitrt
