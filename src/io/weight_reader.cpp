#include "io/weight_reader.hpp"

namespace vitrt {

bool WeightReader::has_prefix(const std::string& p) const {
    auto it = t_.lower_bound(p);
    return it != t_.end() && it->first.compare(0, p.size(), p) == 0;
}

const HostTensor& WeightReader::need(const std::string& name, const Shape& shape, const std::string& what) {
    const std::string about = what.empty() ? "for " + model_ : what + ", for " + model_;
    auto it = t_.find(name);
    check(it != t_.end(),
          "checkpoint is missing tensor '" + name + "' (expected shape " + shape_str(shape) + " " + about + ")");
    check(is_float(it->second.view.dtype),
          "tensor '" + name + "' is stored as " + dtype_name(it->second.view.dtype) + " where a float tensor is expected (" +
              about + ")" +
              (shape.size() == 2 ? "; a quantized linear weight must be listed in the file's vitrt.quantized metadata" : ""));
    check(it->second.view.shape == shape, "tensor '" + name + "' has shape " + shape_str(it->second.view.shape) +
                                              ", expected " + shape_str(shape) + " (" + about + ")");
    used_.insert(name);
    return it->second;
}

void WeightReader::check_all_used(const std::string& hint) const {
    std::string unused;
    int n = 0;
    for (const auto& [name, t] : t_)
        if (!used_.count(name) && is_float(t.view.dtype)) {  // unused integer buffers: as the reader's skipped ones
            if (n < 12) unused += (n ? ", " : "") + name;
            ++n;
        }
    check(n == 0, std::to_string(n) + " checkpoint tensor(s) are not used by " + model_ + ": " + unused +
                      (n > 12 ? ", ..." : "") + "; " + hint);
}

TensorStats tensor_stats(const std::map<std::string, HostTensor>& tensors) {
    TensorStats s;
    std::set<std::string> dtypes;
    for (const auto& [k, v] : tensors) {
        s.parameters += v.view.numel();
        dtypes.insert(dtype_name(v.view.dtype));
    }
    for (const auto& t : dtypes) s.dtypes += (s.dtypes.empty() ? "" : "+") + t;
    return s;
}

}  // namespace vitrt
