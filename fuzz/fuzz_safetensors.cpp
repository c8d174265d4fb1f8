// libFuzzer target: the safetensors reader (header JSON, offsets, dtypes, shapes).
#include "fuzz_common.hpp"
#include "io/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static vitrt::fuzz::MemFile file;
    const std::string& path = file.write(data, size);
    try {
        const vitrt::Checkpoint ck = vitrt::load_safetensors(path);
        // Touch every tensor's bytes: a view that points outside the mapping faults here.
        volatile uint8_t sink = 0;
        for (const auto& [name, t] : ck.tensors) {
            const auto* p = static_cast<const uint8_t*>(t.view.data);
            for (size_t i = 0; i < t.view.nbytes(); ++i) sink = sink ^ p[i];
        }
    } catch (const vitrt::Error&) {
    }
    return 0;
}
