// libFuzzer target: the npz reader (zip central directory, zip64, deflate, CRC, .npy headers).
#include "fuzz_common.hpp"
#include "io/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static vitrt::fuzz::MemFile file;
    const std::string& path = file.write(data, size);
    try {
        const vitrt::Checkpoint ck = vitrt::load_npz(path);
        volatile uint8_t sink = 0;
        for (const auto& [name, t] : ck.tensors) {
            const auto* p = static_cast<const uint8_t*>(t.view.data);
            for (size_t i = 0; i < t.view.nbytes(); ++i) sink = sink ^ p[i];
        }
    } catch (const vitrt::Error&) {
    }
    return 0;
}
