// libFuzzer target: a quantized checkpoint as `vitrt quantize` writes it (safetensors whose
// metadata "vitrt.quantized" maps linear weights to their scheme, group size and in_features;
// i8 / packed-u8 values, f32 scales, w8a8 input scale and zero point), loaded through the whole
// quantized path on the reference backend: quantized_entries (the metadata JSON), the ViT
// configuration from the weights' logical shapes and the cross-checks, read_quantized and
// validate_quantized (dtypes, shapes, scales, zero points), prepare_weight; then, for small
// models, the preprocessing and one forward pass (fuzz_model.hpp). The input is the file's
// bytes (via a memfd). Seeds: tiny ViTs quantized by `vitrt quantize` (fuzz/make_corpus.py).
#include "fuzz_common.hpp"
#include "fuzz_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static vitrt::fuzz::MemFile file;
    const std::string& path = file.write(data, size);
    try {
        vitrt::fuzz::load_and_run(path);
    } catch (const vitrt::Error&) {
    }
    return 0;
}
