#include "engine/backend_factory.hpp"

#include "backends/cpu/cpu_ops.hpp"
#include "backends/ref/ref_ops.hpp"
#include "engine/cuda_plugin.hpp"

namespace vitrt {

std::vector<std::string> backend_names() { return {"cpu", "cuda", "ref"}; }

DType parse_precision(const std::string& s) {
    if (s == "f32" || s == "fp32") return DType::f32;
    if (s == "bf16") return DType::bf16;
    if (s == "f16" || s == "fp16") return DType::f16;
    throw Error("unknown precision '" + s + "' (f32, bf16, f16)");
}

std::unique_ptr<Ops> make_backend(const std::string& name, int threads, const std::string& precision) {
    if (name == "cuda") return load_cuda_backend(precision);  // parses its own tokens (adds tf32)
    if (precision == "tf32") throw Error("precision tf32 is only available on the cuda backend");
    const DType p = parse_precision(precision);
    if (name == "cpu") {
        check(p != DType::f16, "precision f16 is not available on the cpu backend (f32, bf16)");
        return make_cpu_ops(threads, p);
    }
    if (name == "ref") {
        check(p == DType::f32, "the ref backend is the f32 oracle; precision " + precision + " is not available");
        return make_ref_ops();
    }
    std::string known;
    for (const auto& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown device/backend '" + name + "' (known: " + known + ")");
}

}  // namespace vitrt
