// libFuzzer target: the npz reader (zip central directory, zip64, deflate, CRC, .npy headers).
#include "fuzz_common.hpp"
#include "io/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static vitrt::fuzz::MemFile file;
    const std::string& path = file.write(data, size);
    try {
        vitrt::fuzz::touch_tensors(vitrt::load_npz(path));
    } catch (const vitrt::Error&) {
    }
    return 0;
}
