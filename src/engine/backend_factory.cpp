#include "engine/backend_factory.hpp"

#include "backends/cpu/cpu_ops.hpp"
#include "backends/ref/ref_ops.hpp"

namespace vitrt {

std::vector<std::string> backend_names() { return {"cpu", "ref"}; }

std::unique_ptr<Ops> make_backend(const std::string& name, int threads) {
    if (name == "cpu") return make_cpu_ops(threads);
    if (name == "ref") return make_ref_ops();
    std::string known;
    for (const auto& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown device/backend '" + name + "' (known: " + known + ")");
}

}  // namespace vitrt
