// ModelInfo and DataConfig as Python dicts. data_config uses timm's keys and value types
// (timm.data.resolve_data_config), so `timm.data.create_transform(**m.data_config)` accepts it.
#include "py_engine.hpp"

#include <pybind11/stl.h>

namespace vitrt::py_binding {

namespace {

py::dict pairs_dict(const std::vector<std::pair<std::string, std::string>>& kv) {
    py::dict d;
    for (const auto& [k, v] : kv) d[py::str(k)] = v;
    return d;
}

py::tuple floats3(const float v[3]) { return py::make_tuple(double(v[0]), double(v[1]), double(v[2])); }

}  // namespace

Output output_kind(const std::string& name) {
    if (name == "logits") return Output::logits;
    if (name == "embedding") return Output::embedding;
    if (name == "tokens") return Output::tokens;
    throw Error("unknown output '" + name + "': expected logits, embedding or tokens");
}

py::dict info_dict(const Engine& e) {
    const ModelInfo& i = e.info();
    py::dict d;
    d["family"] = i.family;
    d["architecture"] = i.architecture;
    d["source_format"] = i.source_format;
    d["storage_dtype"] = i.storage_dtype;
    d["parameters"] = i.parameters;
    d["flops"] = i.flops;
    d["fields"] = pairs_dict(i.fields);
    d["preprocess"] = pairs_dict(i.preprocess);
    d["notes"] = i.notes;
    d["precision"] = i.precision;
    d["backend"] = i.backend;
    d["num_classes"] = e.num_classes();
    d["input_size"] = py::make_tuple(3, e.input_height(), e.input_width());
    return d;
}

py::dict data_config_dict(const Engine& e) {
    const DataConfig& c = e.data_config();
    py::dict d;
    d["input_size"] = py::make_tuple(c.input_size[0], c.input_size[1], c.input_size[2]);
    d["interpolation"] = c.interpolation;
    d["mean"] = floats3(c.mean);
    d["std"] = floats3(c.std);
    d["crop_pct"] = c.crop_pct;
    d["crop_mode"] = c.crop_mode;
    return d;
}

}  // namespace vitrt::py_binding
