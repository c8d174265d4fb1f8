#include "backends/cpu/gemm_quant_onednn.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "backends/cpu/kernels_quant.hpp"
#include "backends/cpu/onednn_post_ops.hpp"
#include "quant/weight_quant.hpp"

namespace vitrt::cpu {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct QuantWeight {
    uint64_t id = 0;  // primitives bake in this weight's output scales: part of their cache key
    Precision precision = Precision::w8a8_dynamic;
    int64_t N = 0, K = 0;
    int group_size = 0;
    float act_scale = 1.f;
    int32_t zero_point = 0;
    dnnl::memory mem;                // int8 GEMMs: s8 weights in oneDNN's layout (+ compensation)
    std::vector<float> out_scales;   // int8 GEMMs: [N], w_scale (* act_scale for w8a8)
    std::vector<int8_t> q;           // f32 GEMMs: q as QuantizedWeight stores it (s8 or packed s4)
    std::vector<float> scales;       // f32 GEMMs: [N, G]
};

namespace {

constexpr int64_t kLayoutM = 197;  // as in gemm_onednn.cpp: the M that picks the weight layout

struct Key {
    int64_t M;
    uint64_t weight;
    int flags;
    bool operator==(const Key& o) const { return M == o.M && weight == o.weight && flags == o.flags; }
};
struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(uint64_t(k.M) * 1000003 + k.weight * 101 + k.flags); }
};

struct Prim {
    dnnl::matmul prim;
    dnnl::memory src, wei, dst, zp, rows, bias;
    std::vector<std::pair<int, dnnl::memory>> args;
    std::vector<dnnl_exec_arg_t> cargs;
};

bool native_isa() {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_vnni || isa == dnnl::cpu_isa::avx512_core_bf16 ||
           isa == dnnl::cpu_isa::avx512_core_amx || isa == dnnl::cpu_isa::avx2_vnni;
}

}  // namespace

struct OnednnQuantGemm::Impl {
    dnnl::engine eng{dnnl::engine::kind::cpu, 0};
    dnnl::stream strm{eng};
    std::unordered_map<Key, Prim, KeyHash> prims;
    std::vector<char> scratch;
    std::vector<int8_t> xq;    // quantized activations [M, K] (s8 or u8)
    std::vector<float> rows;   // per-token scales [M]
    std::vector<float> xf;     // fallback: dequantized activations [M, K]
    std::vector<float> wf;     // dequantized weight [N, K] for the f32 GEMMs
    const bool native = native_isa();

    // oneDNN 2.6 picks its brgemm int8 kernels only with constant output scales (runtime ones
    // fall to gemm:jit or ref_int8) and takes a per-row binary post-op only as {1, M, 1} on a 3-D
    // matmul ({M, 1} on 2-D runs ref_int8): hence 3-D descriptors {1, M, K} x {1, K, N}, and one
    // primitive per weight (its scales baked in).
    dnnl::matmul::primitive_desc make_pd(int64_t M, const QuantWeight& w, const dnnl::memory::desc& wmd, bool bias,
                                         Activation act, bool accumulate) {
        const int64_t N = w.N, K = w.K;
        const bool dynamic = w.precision == Precision::w8a8_dynamic;
        dnnl::memory::desc a({1, M, K}, dynamic ? dt::s8 : dt::u8, tag::abc), c({1, M, N}, dt::f32, tag::abc);
        dnnl::primitive_attr attr;
        attr.set_output_scales(1 << 2, w.out_scales);
        if (!dynamic) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
        dnnl::post_ops po;
        if (dynamic) po.append_binary(dnnl::algorithm::binary_mul, dnnl::memory::desc({1, M, 1}, dt::f32, tag::abc));
        if (bias) po.append_binary(dnnl::algorithm::binary_add, dnnl::memory::desc({1, 1, N}, dt::f32, tag::abc));
        if (act != Activation::none) po.append_eltwise(1.f, eltwise_of(act), 0.f, 0.f);
        if (accumulate) po.append_sum(1.f);
        attr.set_post_ops(po);
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        try {
            return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, wmd, c), attr, eng);
        } catch (const dnnl::error& e) {
            throw Error(std::string("cpu: oneDNN has no int8 matmul for M=") + std::to_string(M) + " N=" +
                        std::to_string(N) + " K=" + std::to_string(K) + " (" + e.what() + ")");
        }
    }

    void run_int8(const float* x, int64_t M, const QuantWeight& w, const float* bias, Activation act,
                  bool accumulate, float* y);
    void run_f32(const float* x, int64_t M, const QuantWeight& w, const float* bias, Activation act, bool accumulate,
                 float* y, OnednnGemm& f32);
};

bool OnednnQuantGemm::int8_native() { return native_isa(); }
std::string OnednnQuantGemm::description() {
    return native_isa() ? "int8 GEMMs: oneDNN VNNI" : "int8 GEMMs: exact fallback (no VNNI)";
}

OnednnQuantGemm::OnednnQuantGemm() : impl_(std::make_unique<Impl>()) {}
OnednnQuantGemm::~OnednnQuantGemm() = default;

size_t OnednnQuantGemm::stored_bytes(const QuantWeight& w) {
    return (w.mem ? w.mem.get_desc().get_size() : 0) + w.out_scales.size() * 4 + w.q.size() + w.scales.size() * 4;
}

std::shared_ptr<QuantWeight> OnednnQuantGemm::pack(const QuantizedWeight& q) {
    auto& I = *impl_;
    auto w = std::make_shared<QuantWeight>();
    w->precision = q.precision, w->N = q.N, w->K = q.K, w->group_size = q.group_size;
    w->act_scale = q.act_scale, w->zero_point = q.act_zero_point;
    const bool int8 = q.precision == Precision::w8a8 || q.precision == Precision::w8a8_dynamic;
    static std::atomic<uint64_t> next_id{1};
    w->id = next_id++;
    if (int8 && I.native) {
        w->out_scales.assign(q.scales.f32(), q.scales.f32() + q.N);
        if (q.precision == Precision::w8a8)
            for (float& s : w->out_scales) s *= q.act_scale;
        dnnl::memory::desc any({1, q.K, q.N}, dt::s8, tag::any);
        auto pd = I.make_pd(kLayoutM, *w, any, false, Activation::none, false);
        // q is [N, K] row-major == the {1, K, N} tensor in "acb" order.
        dnnl::memory plain({{1, q.K, q.N}, dt::s8, tag::acb}, I.eng, const_cast<void*>(q.q.view.data));
        w->mem = dnnl::memory(pd.weights_desc(), I.eng);
        dnnl::reorder(plain, w->mem).execute(I.strm, plain, w->mem);
        I.strm.wait();
        return w;
    }
    const auto* b = static_cast<const int8_t*>(q.q.view.data);
    w->q.assign(b, b + q.q.view.numel());
    w->scales.assign(q.scales.f32(), q.scales.f32() + q.scales.view.numel());
    return w;
}

void OnednnQuantGemm::run(const float* x, int64_t M, const QuantWeight& w, const float* bias, Activation act,
                          bool accumulate, float* y, OnednnGemm& f32) {
    if (w.mem) impl_->run_int8(x, M, w, bias, act, accumulate, y);
    else impl_->run_f32(x, M, w, bias, act, accumulate, y, f32);
}

void OnednnQuantGemm::Impl::run_int8(const float* x, int64_t M, const QuantWeight& w, const float* bias,
                                     Activation act, bool accumulate, float* y) {
    const bool dynamic = w.precision == Precision::w8a8_dynamic;
    const int flags = (bias ? 1 : 0) | (dynamic ? 2 : 0) | (accumulate ? 4 : 0) | (int(act) << 3);
    const Key key{M, w.id, flags};
    auto it = prims.find(key);
    if (it == prims.end()) {
        auto pd = make_pd(M, w, w.mem.get_desc(), bias, act, accumulate);
        Prim p;
        p.prim = dnnl::matmul(pd);
        p.src = dnnl::memory(pd.src_desc(), eng, nullptr);
        p.wei = dnnl::memory(pd.weights_desc(), eng, nullptr);
        p.dst = dnnl::memory(pd.dst_desc(), eng, nullptr);
        p.args = {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_WEIGHTS, p.wei}, {DNNL_ARG_DST, p.dst}};
        int post = 0;
        if (dynamic) {
            p.rows = dnnl::memory({{1, M, 1}, dt::f32, tag::abc}, eng, nullptr);
            p.args.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(post++) | DNNL_ARG_SRC_1, p.rows});
        } else {
            p.zp = dnnl::memory({{1}, dt::s32, tag::a}, eng, nullptr);
            p.args.push_back({DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, p.zp});
        }
        if (bias) {
            p.bias = dnnl::memory({{1, 1, w.N}, dt::f32, tag::abc}, eng, nullptr);
            p.args.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(post++) | DNNL_ARG_SRC_1, p.bias});
        }
        const size_t need = pd.scratchpad_desc().get_size();
        if (need > scratch.size()) {
            scratch.resize(need);
            for (auto& [k, q] : prims) q.cargs.clear();  // re-pointed below
        }
        it = prims.emplace(key, std::move(p)).first;
    }
    Prim& p = it->second;
    if (p.cargs.empty()) {
        p.args.erase(std::remove_if(p.args.begin(), p.args.end(), [](const auto& a) { return a.first == DNNL_ARG_SCRATCHPAD; }),
                     p.args.end());
        p.args.push_back({DNNL_ARG_SCRATCHPAD, dnnl::memory({{int64_t(scratch.size())}, dt::u8, tag::a}, eng, scratch.data())});
        for (const auto& [arg, mem] : p.args) p.cargs.push_back({arg, mem.get()});
    }
    const size_t mk = size_t(M * w.K);
    if (xq.size() < mk) xq.resize(mk);  // first run of a shape only
    if (dynamic) {
        if (rows.size() < size_t(M)) rows.resize(size_t(M));
        quantize_rows_s8(x, M, w.K, xq.data(), rows.data());
        p.rows.set_data_handle(rows.data());
    } else {
        quantize_u8(x, int64_t(mk), w.act_scale, w.zero_point, reinterpret_cast<uint8_t*>(xq.data()));
        p.zp.set_data_handle(const_cast<int32_t*>(&w.zero_point));
    }
    p.src.set_data_handle(xq.data());
    p.wei.set_data_handle(w.mem.get_data_handle());
    p.dst.set_data_handle(y);
    if (bias) p.bias.set_data_handle(const_cast<float*>(bias));
    const dnnl_status_t st = dnnl_primitive_execute(p.prim.get(), strm.get(), int(p.cargs.size()), p.cargs.data());
    if (st != dnnl_success) throw Error("oneDNN int8 matmul failed (status " + std::to_string(int(st)) + ")");
    strm.wait();
}

// Weight-only precisions, and w8a8 without VNNI: f32 GEMM on the dequantized weight (and, for
// w8a8, on the quantized-then-dequantized activations: the integer result up to f32 rounding).
void OnednnQuantGemm::Impl::run_f32(const float* x, int64_t M, const QuantWeight& w, const float* bias,
                                    Activation act, bool accumulate, float* y, OnednnGemm& f32) {
    const int64_t N = w.N, K = w.K;
    if (wf.size() < size_t(N * K)) wf.resize(size_t(N * K));  // the largest weight, once
    if (w.precision == Precision::w4)
        dequantize_s4(reinterpret_cast<const uint8_t*>(w.q.data()), w.scales.data(), N, K, w.group_size, wf.data());
    else
        dequantize_s8(w.q.data(), w.scales.data(), N, K, w.group_size, wf.data());
    const float* a = x;
    if (w.precision == Precision::w8a8 || w.precision == Precision::w8a8_dynamic) {
        const int64_t mk = M * K;
        if (xq.size() < size_t(mk)) xq.resize(size_t(mk));
        if (xf.size() < size_t(mk)) xf.resize(size_t(mk));
        if (w.precision == Precision::w8a8_dynamic) {
            if (rows.size() < size_t(M)) rows.resize(size_t(M));
            quantize_rows_s8(x, M, K, xq.data(), rows.data());
#pragma omp parallel for schedule(static)
            for (int64_t m = 0; m < M; ++m)
                for (int64_t k = 0; k < K; ++k) xf[size_t(m * K + k)] = float(xq[size_t(m * K + k)]) * rows[size_t(m)];
        } else {
            const auto* u = reinterpret_cast<const uint8_t*>(xq.data());
            quantize_u8(x, mk, w.act_scale, w.zero_point, reinterpret_cast<uint8_t*>(xq.data()));
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < mk; ++i) xf[size_t(i)] = float(int(u[i]) - w.zero_point) * w.act_scale;
        }
        a = xf.data();
    }
    f32.run_plain(a, M, wf.data(), N, K, bias, act, accumulate, y);
}

}  // namespace vitrt::cpu
