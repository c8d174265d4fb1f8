#include "models/fastvit_config.hpp"

namespace vitrt {

std::string fastvit_list(const std::vector<int64_t>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s;
}

}  // namespace vitrt
