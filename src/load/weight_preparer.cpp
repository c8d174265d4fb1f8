#include "load/weight_preparer.hpp"

#include "io/finite.hpp"
#include "quant/weight_quant.hpp"

namespace vitrt {
namespace {

// src with each row multiplied by its scale; `name` is the weight the scale folds into (a
// non-finite scale is refused naming it).
HostTensor row_scaled(const HostTensor& src, const RowScale& rs, const std::string& name) {
    HostTensor f = to_f32(src);
    if (rs.identity()) return f;
    if (rs.per_row)
        WeightPreparer::check_finite(rs.per_row_name.empty() ? "the per-row scale folded into '" + name + "'"
                                                             : "weight '" + rs.per_row_name + "'",
                                     *rs.per_row);
    HostTensor g = rs.per_row ? to_f32(*rs.per_row) : HostTensor();
    HostTensor c = HostTensor::zeros_f32(f.view.shape);
    const int64_t rows = f.view.dim(0), cols = f.view.numel() / rows;
    for (int64_t r = 0; r < rows; ++r) {
        const float k = (rs.per_row ? g.f32()[r] : 1.f) * rs.all;
        for (int64_t i = 0; i < cols; ++i) c.mutable_f32()[r * cols + i] = f.f32()[r * cols + i] * k;
    }
    return c;
}

// Scales of a quantized weight with rows multiplied (a copy; the checkpoint's stay untouched).
void scale_rows(QuantizedWeight& q, const RowScale& rs, const std::string& name) {
    if (rs.identity()) return;
    q.scales = row_scaled(q.scales, rs, name);
}

}  // namespace

QuantizedWeight read_quantized(WeightReader& r, const std::string& name, const QuantizedEntry& e, const Shape& shape) {
    check(shape.size() == 2, "weight '" + name + "': only linear (2-D) weights can be stored quantized");
    QuantizedWeight q;
    q.precision = parse_precision(e.precision);
    check(e.in_features == shape[1], "quantized weight '" + name + "': the metadata says in_features " +
                                         std::to_string(e.in_features) + ", the model reads it as " + shape_str(shape));
    q.N = shape[0], q.K = shape[1];
    q.group_size = e.group_size;
    q.q = r.need_raw(name);
    q.scales = r.need_raw(name + "_scale");
    if (q.precision == Precision::w8a8) {
        const HostTensor& s = r.need_raw(name.substr(0, name.rfind('.')) + ".input_scale");
        const HostTensor& z = r.need_raw(name.substr(0, name.rfind('.')) + ".input_zero_point");
        check(s.view.dtype == DType::f32 && s.view.numel() == 1,
              "quantized weight '" + name + "': input_scale must be one f32 value");
        check(z.view.dtype == DType::i32 && z.view.numel() == 1,
              "quantized weight '" + name + "': input_zero_point must be one i32 value");
        q.act_scale = s.f32()[0];
        q.act_zero_point = static_cast<const int32_t*>(z.view.data)[0];
    }
    validate_quantized(q, name);
    return q;
}

Tensor WeightPreparer::finish_linear(const std::string& name, Tensor t, Precision p) {
    ++linear_counts_[p];
    if (precision_info(p).integer) any_integer_ = true;
    else float_linear_.push_back(name);
    names_[t.prepared.get()] = name;
    return t;
}

void WeightPreparer::check_finite(const std::string& what, const HostTensor& t) {
    check(!is_float(t.view.dtype) || all_finite(t),
          what + " holds NaN or Inf values: the checkpoint is damaged (or was saved from a diverged "
          "training run), and every output would be NaN; re-export it from a good copy");
}

Tensor WeightPreparer::prepare(const std::string& name, const HostTensor& t, WeightRole role) {
    check_finite("weight '" + name + "'", t);
    const Precision p = policy_.for_weight(name, role);
    Tensor r;
    if (precision_info(p).integer) {
        check(role == WeightRole::linear, "weight '" + name + "': integer precisions apply to linear weights only");
        QuantizedWeight q = quantize_weight(t, p, policy_.group_size);
        if (p == Precision::w8a8) {
            auto it = policy_.calibrated.find(name);
            check(it != policy_.calibrated.end(), "weight '" + name + "': w8a8 (static) needs a calibrated input scale "
                                                  "(run `vitrt quantize`)");
            q.act_scale = it->second.scale, q.act_zero_point = it->second.zero_point;
        }
        r = ops_.prepare_weight(HostTensor(), WeightSpec(role, p, &q, name.c_str()));
    } else {
        r = ops_.prepare_weight(t, WeightSpec(role, p, nullptr, name.c_str()));
    }
    release_host_pages(t);
    return role == WeightRole::linear ? finish_linear(name, r, p) : r;
}

Tensor WeightPreparer::linear(WeightReader& r, const std::string& name, const Shape& shape, const RowScale& rows) {
    if (const QuantizedEntry* e = r.quantized_entry(name)) {
        QuantizedWeight q = read_quantized(r, name, *e, shape);  // scales checked finite there
        scale_rows(q, rows, name);
        bool keep_float = false;  // the user asked for this one in float: the dequantized weight
        for (const auto& k : policy_.keep_float) keep_float = keep_float || name_matches(k, name);
        if (keep_float) {
            const HostTensor f = dequantize_weight(q);
            Tensor t = ops_.prepare_weight(f, WeightSpec(WeightRole::linear, Precision::f32, nullptr, name.c_str()));
            return finish_linear(name, t, Precision::f32);
        }
        Tensor t = ops_.prepare_weight(HostTensor(), WeightSpec(WeightRole::linear, q.precision, &q, name.c_str()));
        release_host_pages(q.q);
        return finish_linear(name, t, q.precision);
    }
    const HostTensor& src = r.need(name, shape);
    if (rows.identity()) return prepare(name, src, WeightRole::linear);
    HostTensor scaled = row_scaled(src, rows, name);
    release_host_pages(src);
    return prepare(name, scaled, WeightRole::linear);
}

Tensor WeightPreparer::param(WeightReader& r, const std::string& name, const Shape& shape, const RowScale& rows) {
    const HostTensor& src = r.need(name, shape);
    if (rows.identity()) return prepare(name, src, WeightRole::param);
    HostTensor scaled = row_scaled(src, rows, name);
    release_host_pages(src);
    return prepare(name, scaled, WeightRole::param);
}

const std::vector<std::string>& WeightPreparer::kept_float() const {
    static const std::vector<std::string> none;
    return any_integer_ ? float_linear_ : none;
}

std::string WeightPreparer::linear_summary() const {
    std::string s;
    for (const auto& [p, n] : linear_counts_) s += (s.empty() ? "" : ", ") + std::to_string(n) + " x " + precision_name(p);
    return s;
}

}  // namespace vitrt
