#include "engine/backend_factory.hpp"

#include "backends/cpu/cpu_ops.hpp"
#include "backends/ref/ref_ops.hpp"
#include "engine/cuda_plugin.hpp"

namespace vitrt {

std::vector<std::string> backend_names() { return {"cpu", "cuda", "ref"}; }

std::unique_ptr<Ops> make_backend(const std::string& name, const BackendOptions& o) {
    if (name == "cuda") return load_cuda_backend(precision_name(o.activations));
    if (name == "cpu") {
        check(o.activations == Precision::f32 || o.activations == Precision::bf16,
              std::string("precision ") + precision_name(o.activations) +
                  " is not available on the cpu backend (f32, bf16, w8a8-dynamic, w8, w4)");
        return make_cpu_ops(o.threads, o.activations);
    }
    if (name == "ref") {
        check(o.activations == Precision::f32, std::string("the ref backend is the f32 oracle; precision ") +
                                                   precision_name(o.activations) + " is not available");
        return make_ref_ops();
    }
    std::string known;
    for (const auto& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown device/backend '" + name + "' (known: " + known + ")");
}

}  // namespace vitrt
