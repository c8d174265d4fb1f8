#include "quant/weight_quant.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace vitrt {

int64_t scale_groups(int64_t K, int group_size) { return group_size > 0 ? (K + group_size - 1) / group_size : 1; }

bool valid_group_size(int g) { return g == 0 || (g >= 16 && g <= 1024 && (g & (g - 1)) == 0); }

const char* group_size_rule() { return "0 (per row) or a power of two from 16 to 1024"; }

QuantizedWeight quantize_weight(const HostTensor& w, Precision p, int group_size) {
    check(w.view.rank() == 2, "quantize_weight: a linear weight must be 2-D, got " + shape_str(w.view.shape));
    check(precision_info(p).integer, std::string("quantize_weight: ") + precision_name(p) + " is not an integer precision");
    const HostTensor f = to_f32(w);
    const int64_t N = f.view.dim(0), K = f.view.dim(1);
    QuantizedWeight q;
    q.precision = p;
    q.N = N, q.K = K;
    const bool four = p == Precision::w4;
    q.group_size = (p == Precision::w8 || four) ? group_size : 0;
    check(q.group_size >= 0, "quantize_weight: group size must be >= 0");
    const int64_t G = scale_groups(K, q.group_size), gs = q.group_size > 0 ? q.group_size : K;
    const float qmax = four ? 7.f : 127.f;
    q.scales = HostTensor::zeros_f32(q.group_size > 0 ? Shape{N, G} : Shape{N});
    const int64_t row_bytes = four ? (K + 1) / 2 : K;
    auto bytes = std::shared_ptr<int8_t>(new int8_t[size_t(std::max<int64_t>(1, N * row_bytes))](),
                                         std::default_delete<int8_t[]>());
    q.q.view.data = bytes.get();
    q.q.view.dtype = four ? DType::u8 : DType::i8;
    q.q.view.shape = {N, row_bytes};
    q.q.owner = bytes;
    for (int64_t n = 0; n < N; ++n) {
        const float* row = f.f32() + n * K;
        for (int64_t g = 0; g < G; ++g) {
            const int64_t k0 = g * gs, k1 = std::min(K, k0 + gs);
            float amax = 0.f;
            for (int64_t k = k0; k < k1; ++k) amax = std::max(amax, std::fabs(row[k]));
            const float scale = amax > 0.f ? amax / qmax : 1.f;
            q.scales.mutable_f32()[n * G + g] = scale;
            for (int64_t k = k0; k < k1; ++k) {
                const int v = int(std::clamp(std::nearbyint(row[k] / scale), -qmax, qmax));
                if (four) {
                    uint8_t& b = reinterpret_cast<uint8_t*>(bytes.get())[n * row_bytes + k / 2];
                    b = uint8_t(k % 2 == 0 ? (b & 0xF0) | (v & 0x0F) : (b & 0x0F) | ((v & 0x0F) << 4));
                } else {
                    bytes.get()[n * row_bytes + k] = int8_t(v);
                }
            }
        }
    }
    return q;
}

int quantized_value(const QuantizedWeight& q, int64_t n, int64_t k) {
    if (q.precision == Precision::w4) {
        const uint8_t b = static_cast<const uint8_t*>(q.q.view.data)[n * ((q.K + 1) / 2) + k / 2];
        const int nib = k % 2 == 0 ? b & 0x0F : b >> 4;
        return nib >= 8 ? nib - 16 : nib;
    }
    return static_cast<const int8_t*>(q.q.view.data)[n * q.K + k];
}

HostTensor dequantize_weight(const QuantizedWeight& q) {
    HostTensor r = HostTensor::zeros_f32({q.N, q.K});
    const int64_t G = scale_groups(q.K, q.group_size);
    const HostTensor s = to_f32(q.scales);
    for (int64_t n = 0; n < q.N; ++n)
        for (int64_t k = 0; k < q.K; ++k) {
            const int64_t g = q.group_size > 0 ? k / q.group_size : 0;
            r.mutable_f32()[n * q.K + k] = float(quantized_value(q, n, k)) * s.f32()[n * G + g];
        }
    return r;
}

const QuantizedWeight& checked_quantized(const WeightSpec& spec, const char* backend) {
    check(spec.quantized != nullptr, std::string(backend) + ": weight '" + spec.name + "' asks for " +
                                         precision_name(spec.precision) + " but carries no quantized data");
    const QuantizedWeight& q = *spec.quantized;
    check(q.precision == spec.precision, std::string(backend) + ": weight '" + spec.name + "' is quantized as " +
                                             precision_name(q.precision) + ", asked for " +
                                             precision_name(spec.precision));
    validate_quantized(q, spec.name);
    return q;
}

void validate_quantized(const QuantizedWeight& q, const std::string& name) {
    const bool four = q.precision == Precision::w4;
    check(precision_info(q.precision).integer,
          "quantized weight '" + name + "': precision " + precision_name(q.precision) + " is not an integer precision");
    check(q.N > 0 && q.K > 0, "quantized weight '" + name + "': empty matrix");
    const Shape qs{q.N, four ? (q.K + 1) / 2 : q.K};
    check(q.q.view.dtype == (four ? DType::u8 : DType::i8),
          "quantized weight '" + name + "': values must be " + (four ? "u8 (two s4 per byte)" : "i8") + ", got " +
              dtype_name(q.q.view.dtype));
    check(q.q.view.shape == qs, "quantized weight '" + name + "': values have shape " + shape_str(q.q.view.shape) +
                                    ", expected " + shape_str(qs));
    const bool grouped = q.precision == Precision::w8 || four;
    check(grouped || q.group_size == 0, "quantized weight '" + name + "': " + precision_name(q.precision) +
                                            " is per-channel (one scale per output row): group_size must be 0, got " +
                                            std::to_string(q.group_size));
    check(valid_group_size(q.group_size), "quantized weight '" + name + "': bad group size " +
                                              std::to_string(q.group_size) + " (group_size must be " +
                                              group_size_rule() + ")");
    const int64_t G = scale_groups(q.K, q.group_size);
    const Shape ss = q.group_size > 0 ? Shape{q.N, G} : Shape{q.N};
    check(q.scales.view.dtype == DType::f32, "quantized weight '" + name + "': scales must be f32, got " +
                                                 std::string(dtype_name(q.scales.view.dtype)));
    check(q.scales.view.shape == ss, "quantized weight '" + name + "': scales have shape " +
                                         shape_str(q.scales.view.shape) + ", expected " + shape_str(ss));
    for (int64_t i = 0; i < q.scales.view.numel(); ++i) {
        const float v = q.scales.f32()[i];
        check(std::isfinite(v) && v != 0.f, "quantized weight '" + name + "': scale " + std::to_string(i) +
                                                " is not a finite non-zero number");
    }
    if (q.precision == Precision::w8a8) {
        check(std::isfinite(q.act_scale) && q.act_scale > 0.f,
              "quantized weight '" + name + "': w8a8 needs a finite positive input scale");
        check(q.act_zero_point >= 0 && q.act_zero_point <= 255,
              "quantized weight '" + name + "': input zero point must be in [0, 255]");
    }
}

}  // namespace vitrt
