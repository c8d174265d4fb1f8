// libFuzzer target: PNG decoding (libpng glue: CRC pre-check, interlacing, palettes, bit
// depths, truncation) and the preprocessing that follows it in the classify pipeline.
#include "fuzz_common.hpp"
#include "fuzz_image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 8 || std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) != 0) return 0;
    vitrt::fuzz::decode_and_preprocess(data, size);
    return 0;
}
