#include "io/finite.hpp"

#include <cmath>
#include <cstring>

namespace vitrt {

bool all_finite(const HostTensor& t) {
    const size_t n = size_t(t.view.numel());
    const auto* p = static_cast<const uint8_t*>(t.view.data);
    switch (t.view.dtype) {
        case DType::f32: {
            // An exponent of all ones is Inf or NaN; OR-ing the test over the tensor keeps the
            // loop branch-free (it vectorises), which matters for multi-GB checkpoints.
            uint32_t bad = 0;
            for (size_t i = 0; i < n; ++i) {
                uint32_t bits;
                std::memcpy(&bits, p + 4 * i, 4);
                bad |= uint32_t((bits & 0x7f800000u) == 0x7f800000u);
            }
            return bad == 0;
        }
        case DType::f16:
        case DType::bf16: {
            const uint16_t mask = t.view.dtype == DType::f16 ? 0x7c00 : 0x7f80;
            uint32_t bad = 0;
            for (size_t i = 0; i < n; ++i) {
                uint16_t bits;
                std::memcpy(&bits, p + 2 * i, 2);
                bad |= uint32_t((bits & mask) == mask);
            }
            return bad == 0;
        }
        case DType::i8:
        case DType::u8:
        case DType::i32:
            return true;  // integers are always finite
    }
    return false;
}

}  // namespace vitrt
