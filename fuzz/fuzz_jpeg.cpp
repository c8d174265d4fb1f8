// libFuzzer target: JPEG decoding (libjpeg-turbo glue: error longjmps, CMYK/gray conversion,
// truncation, scan limit) and the preprocessing that follows it in the classify pipeline.
#include "fuzz_common.hpp"
#include "fuzz_image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // Only JPEG: without the SOI marker the dispatcher would reject the input before libjpeg.
    if (size < 3 || data[0] != 0xff || data[1] != 0xd8 || data[2] != 0xff) return 0;
    vitrt::fuzz::decode_and_preprocess(data, size);
    return 0;
}
