#include "backends/ref/ref_ops.hpp"

#include <cmath>
#include <cstring>
#include <vector>

#include "quant/act_quant.hpp"
#include "quant/weight_quant.hpp"

namespace vitrt {
namespace ref {

float gelu_erf(float x) { return float(0.5 * double(x) * (1.0 + std::erf(double(x) / std::sqrt(2.0)))); }

float apply_activation(Activation a, float x) {
    switch (a) {
        case Activation::none: return x;
        case Activation::gelu_erf: return gelu_erf(x);
        case Activation::relu: return x > 0.f ? x : 0.f;
        case Activation::sigmoid: return float(1.0 / (1.0 + std::exp(-double(x))));
    }
    return x;
}

}  // namespace ref

namespace {

// Rows of a 2-D view of a tensor whose last dim is `cols`.
int64_t rows_of(const Tensor& t, int64_t cols) { return t.numel() / cols; }

// A weight as the oracle keeps it: a plain f32 copy (float precisions; w8 and w4: the dequantized
// weight q * scale, which is what those precisions compute with).
struct RefWeight final : PreparedWeight {
    using PreparedWeight::PreparedWeight;
    std::vector<float> values;
    // w8a8, w8a8-dynamic: the integers and per-channel scales, for exact integer arithmetic.
    std::vector<int32_t> q;  // [N, K]
    std::vector<float> scales;
    float act_scale = 1.f;
    int zero_point = 0;
};

class RefOps final : public Ops {
public:
    std::string name() const override { return "ref"; }

    // f32 for everything; the integer precisions for linear weights (exact integer twins).
    bool supports(Precision p, WeightRole role) const override {
        return p == Precision::f32 || (role == WeightRole::linear && precision_info(p).integer);
    }

    Tensor prepare_weight(const HostTensor& w, const WeightSpec& spec) override {
        if (!supports(spec.precision, spec.role))
            throw Error(std::string("the ref backend is the f32 oracle (and the integer twin for linear weights); "
                                    "precision ") + precision_name(spec.precision) + " is not available for " +
                        role_name(spec.role) + " weights (weight '" + spec.name + "')");
        if (precision_info(spec.precision).integer) return prepare_quantized(spec);
        HostTensor f = to_f32(w);
        auto pw = std::make_shared<RefWeight>(this, spec.role, spec.precision);
        pw->values.assign(f.f32(), f.f32() + f.view.numel());
        Tensor t;
        t.data = pw->values.data();
        t.dtype = DType::f32;
        t.shape = f.view.shape;
        t.prepared = pw;
        return t;
    }
    void copy(const Tensor& src, const Tensor& dst) override {
        check(src.nbytes() == dst.nbytes(), "ref copy: byte sizes differ");
        std::memmove(dst.data, src.data, src.nbytes());
    }

    std::shared_ptr<void> allocate(size_t bytes) override {
        return std::shared_ptr<char>(new char[bytes + 64](), std::default_delete<char[]>());
    }
    void upload(void* dst, const void* src, size_t n) override { std::memmove(dst, src, n); }
    void download(void* dst, const void* src, size_t n) override { std::memmove(dst, src, n); }

    Tensor prepare_quantized(const WeightSpec& spec) {
        const QuantizedWeight& q = checked_quantized(spec, "ref");
        auto pw = std::make_shared<RefWeight>(this, spec.role, spec.precision);
        if (precision_info(q.precision).quantized_activations) {
            pw->q.resize(size_t(q.N * q.K));
            for (int64_t n = 0; n < q.N; ++n)
                for (int64_t k = 0; k < q.K; ++k) pw->q[size_t(n * q.K + k)] = quantized_value(q, n, k);
            pw->scales.assign(q.scales.f32(), q.scales.f32() + q.N);
            pw->act_scale = q.act_scale;
            pw->zero_point = q.act_zero_point;
        } else {
            const HostTensor d = dequantize_weight(q);
            pw->values.assign(d.f32(), d.f32() + d.view.numel());
        }
        Tensor t;
        t.data = pw->values.empty() ? nullptr : pw->values.data();
        t.dtype = DType::f32;
        t.shape = {q.N, q.K};
        t.prepared = pw;
        return t;
    }

    // Activations quantized exactly as the fast kernels do (quant/act_quant.hpp), integer dot
    // products (int64), then the epilogue in double: acc * s_x * s_w[n] + bias, act, + residual.
    static double int8_dot(const RefWeight& rw, const std::vector<int32_t>& xq, int64_t n, int64_t K) {
        int64_t acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += int64_t(xq[size_t(k)]) * rw.q[size_t(n * K + k)];
        return double(acc);
    }

    void linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) override {
        const int64_t N = w.dim(0), K = w.dim(1);
        const int64_t M = rows_of(x, K);
        check(x.dim(-1) == K && rows_of(y, N) == M && y.dim(-1) == N, "ref linear: shape mismatch");
        const float* X = x.f32();
        const RefWeight& rw = prepared_as<RefWeight>(w, this, WeightRole::linear, "ref linear");
        const float* W = rw.values.data();
        const bool int8 = precision_info(rw.precision).quantized_activations;
        std::vector<float> row(static_cast<size_t>(N));
        std::vector<int32_t> xq(int8 ? size_t(K) : 0);
        std::vector<int8_t> qs(int8 ? size_t(K) : 0);
        std::vector<uint8_t> qu(int8 ? size_t(K) : 0);
        for (int64_t m = 0; m < M; ++m) {
            double xs = 1;  // the row's activation scale (integer precisions)
            if (rw.precision == Precision::w8a8_dynamic) {
                xs = quant::quantize_row_s8(X + m * K, K, qs.data());
                for (int64_t k = 0; k < K; ++k) xq[size_t(k)] = qs[size_t(k)];
            } else if (rw.precision == Precision::w8a8) {
                xs = rw.act_scale;
                quant::quantize_u8(X + m * K, K, rw.act_scale, rw.zero_point, qu.data());
                for (int64_t k = 0; k < K; ++k) xq[size_t(k)] = int32_t(qu[size_t(k)]) - rw.zero_point;
            }
            for (int64_t n = 0; n < N; ++n) {
                double acc = 0;
                if (int8) {
                    acc = int8_dot(rw, xq, n, K) * xs * double(rw.scales[size_t(n)]);
                } else {
                    for (int64_t k = 0; k < K; ++k) acc += double(X[m * K + k]) * double(W[n * K + k]);
                }
                float v = float(acc);
                if (o.bias) v += o.bias->f32()[n];
                v = ref::apply_activation(o.act, v);
                if (o.residual) v += o.residual->f32()[m * N + n];
                row[size_t(n)] = v;
            }
            std::memcpy(y.f32() + m * N, row.data(), size_t(N) * 4);  // y may alias residual
        }
    }

    void layernorm(const Tensor& x, const Tensor& g, const Tensor& b, float eps, const Tensor& y) override {
        const int64_t D = x.dim(-1), M = rows_of(x, D);
        for (int64_t m = 0; m < M; ++m) {
            const float* r = x.f32() + m * D;
            double mean = 0, var = 0;
            for (int64_t i = 0; i < D; ++i) mean += r[i];
            mean /= double(D);
            for (int64_t i = 0; i < D; ++i) var += (r[i] - mean) * (r[i] - mean);
            var /= double(D);
            const double inv = 1.0 / std::sqrt(var + double(eps));
            for (int64_t i = 0; i < D; ++i)
                y.f32()[m * D + i] = float((r[i] - mean) * inv * g.f32()[i] + b.f32()[i]);
        }
    }

    void attention(const Tensor& qkv, int heads, float scale, const Tensor& out) override {
        const int64_t B = qkv.dim(0), T = qkv.dim(1), D3 = qkv.dim(2), D = D3 / 3, hd = D / heads;
        const float* P = qkv.f32();
        std::vector<double> s(static_cast<size_t>(T));
        for (int64_t b = 0; b < B; ++b)
            for (int64_t h = 0; h < heads; ++h)
                for (int64_t i = 0; i < T; ++i) {
                    const float* q = P + (b * T + i) * D3 + h * hd;
                    double mx = -INFINITY;
                    for (int64_t j = 0; j < T; ++j) {
                        const float* k = P + (b * T + j) * D3 + D + h * hd;
                        double acc = 0;
                        for (int64_t e = 0; e < hd; ++e) acc += double(q[e]) * double(k[e]);
                        s[size_t(j)] = acc * scale;
                        mx = std::max(mx, s[size_t(j)]);
                    }
                    double sum = 0;
                    for (int64_t j = 0; j < T; ++j) sum += (s[size_t(j)] = std::exp(s[size_t(j)] - mx));
                    for (int64_t e = 0; e < hd; ++e) {
                        double acc = 0;
                        for (int64_t j = 0; j < T; ++j) acc += s[size_t(j)] * P[(b * T + j) * D3 + 2 * D + h * hd + e];
                        out.f32()[(b * T + i) * D + h * hd + e] = float(acc / sum);
                    }
                }
    }

    void patchify(const Tensor& img, int p, const Tensor& out) override {
        const int64_t B = img.dim(0), C = img.dim(1), H = img.dim(2), W = img.dim(3);
        const int64_t gh = H / p, gw = W / p, F = C * p * p;
        for (int64_t b = 0; b < B; ++b)
            for (int64_t gy = 0; gy < gh; ++gy)
                for (int64_t gx = 0; gx < gw; ++gx)
                    for (int64_t c = 0; c < C; ++c)
                        for (int64_t ky = 0; ky < p; ++ky)
                            for (int64_t kx = 0; kx < p; ++kx)
                                out.f32()[((b * gh + gy) * gw + gx) * F + (c * p + ky) * p + kx] =
                                    img.f32()[((b * C + c) * H + gy * p + ky) * W + gx * p + kx];
    }

    void assemble_tokens(const Tensor& patches, const Tensor* prefix, const Tensor& pos, bool pos_skips_prefix,
                         const Tensor& out) override {
        const int64_t B = patches.dim(0), N = patches.dim(1), D = patches.dim(2);
        const int64_t Pf = prefix ? prefix->numel() / D : 0, T = Pf + N;
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < T; ++t)
                for (int64_t d = 0; d < D; ++d) {
                    float v = t < Pf ? prefix->f32()[t * D + d] : patches.f32()[(b * N + t - Pf) * D + d];
                    if (!pos_skips_prefix) v += pos.f32()[t * D + d];
                    else if (t >= Pf) v += pos.f32()[(t - Pf) * D + d];
                    out.f32()[(b * T + t) * D + d] = v;
                }
    }

    void pool_tokens(const Tensor& x, int first, int count, const Tensor& out) override {
        const int64_t B = x.dim(0), T = x.dim(1), D = x.dim(2);
        for (int64_t b = 0; b < B; ++b)
            for (int64_t d = 0; d < D; ++d) {
                double acc = 0;
                for (int64_t t = first; t < first + count; ++t) acc += x.f32()[(b * T + t) * D + d];
                out.f32()[b * D + d] = float(acc / count);
            }
    }

    void conv2d(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dOpts& o) override {
        const float* Wc = prepared_as<RefWeight>(w, this, WeightRole::conv, "ref conv2d").values.data();
        check(x.rank() == 4 && w.rank() == 4 && y.rank() == 4, "ref conv2d: x, w, y must be 4-D");
        const int64_t B = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
        const int64_t O = w.dim(0), Ig = w.dim(1), KH = w.dim(2), KW = w.dim(3);
        const int64_t Ho = y.dim(1), Wo = y.dim(2), g = o.groups, s = o.stride, p = o.pad;
        check(g >= 1 && s >= 1 && p >= 0 && C == Ig * g && O % g == 0 && y.dim(0) == B && y.dim(3) == O &&
                  Ho == (H + 2 * p - KH) / s + 1 && Wo == (W + 2 * p - KW) / s + 1,
              "ref conv2d: shape mismatch (x " + shape_str(x.shape) + ", w " + shape_str(w.shape) + ", y " +
                  shape_str(y.shape) + ")");
        const int64_t Og = O / g;
        for (int64_t b = 0; b < B; ++b)
            for (int64_t oy = 0; oy < Ho; ++oy)
                for (int64_t ox = 0; ox < Wo; ++ox)
                    for (int64_t oc = 0; oc < O; ++oc) {
                        const int64_t c0 = oc / Og * Ig;
                        double acc = 0;
                        for (int64_t ky = 0; ky < KH; ++ky) {
                            const int64_t iy = oy * s - p + ky;
                            if (iy < 0 || iy >= H) continue;
                            for (int64_t kx = 0; kx < KW; ++kx) {
                                const int64_t ix = ox * s - p + kx;
                                if (ix < 0 || ix >= W) continue;
                                for (int64_t ic = 0; ic < Ig; ++ic)
                                    acc += double(x.f32()[((b * H + iy) * W + ix) * C + c0 + ic]) *
                                           double(Wc[((oc * Ig + ic) * KH + ky) * KW + kx]);
                            }
                        }
                        float v = float(acc);
                        if (o.bias) v += o.bias->f32()[oc];
                        v = ref::apply_activation(o.act, v);
                        const int64_t i = ((b * Ho + oy) * Wo + ox) * O + oc;
                        if (o.residual) v += o.residual->f32()[i];
                        y.f32()[i] = v;  // y may alias residual: element i was read just above
                    }
    }

    void to_channels_last(const Tensor& x, const Tensor& y) override {
        const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
        check(y.shape == Shape{B, H, W, C}, "ref to_channels_last: shape mismatch");
        for (int64_t b = 0; b < B; ++b)
            for (int64_t c = 0; c < C; ++c)
                for (int64_t i = 0; i < H * W; ++i) y.f32()[(b * H * W + i) * C + c] = x.f32()[(b * C + c) * H * W + i];
    }

    void scale_channels(const Tensor& x, const Tensor& s, Activation act, const Tensor& y) override {
        const int64_t B = x.dim(0), C = x.dim(-1), T = x.numel() / (B * C);
        check(s.numel() == B * C && y.numel() == x.numel(), "ref scale_channels: shape mismatch");
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < T; ++t)
                for (int64_t c = 0; c < C; ++c) {
                    const int64_t i = (b * T + t) * C + c;
                    y.f32()[i] = ref::apply_activation(act, x.f32()[i] * s.f32()[b * C + c]);
                }
    }
};

}  // namespace

std::unique_ptr<Ops> make_ref_ops() { return std::make_unique<RefOps>(); }

}  // namespace vitrt
