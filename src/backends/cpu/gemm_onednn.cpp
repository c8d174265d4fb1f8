#include "backends/cpu/gemm_onednn.hpp"

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "backends/cpu/bf16_convert.hpp"
#include "backends/cpu/huge_pages.hpp"
#include "backends/cpu/onednn_post_ops.hpp"

namespace vitrt::cpu {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct PackedWeight {
    dnnl::memory mem;  // data handle null for a plain weight (run_plain sets it per call)
    std::shared_ptr<void> storage;  // mem's bytes (in the engine's huge-page arena)
    int64_t N = 0, K = 0;
    dnnl::memory::data_type wdt = dnnl::memory::data_type::f32;  // weights and matmul source type
    bool plain = false;                                           // row-major [N, K] (run_plain)
};

bool cpu_has_native_bf16() {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

namespace {

// The M used to let oneDNN choose the weight layout: a typical token count (ViT-B at batch 1).
constexpr int64_t kLayoutM = 197;

struct Key {
    int64_t M, N, K;
    int flags;  // fusion and weight type
    bool operator==(const Key& o) const { return M == o.M && N == o.N && K == o.K && flags == o.flags; }
};
struct KeyHash {
    size_t operator()(const Key& k) const {
        return std::hash<int64_t>()(k.M * 1000003 + k.N * 10007 + k.K * 101 + k.flags);
    }
};

struct Prim {
    dnnl::matmul prim;
    dnnl::memory src, wei, bias, dst;
    std::unordered_map<int, dnnl::memory> args;
    std::vector<dnnl_exec_arg_t> cargs;  // args for the C API (the C++ execute() builds a vector per call)
};

}  // namespace

struct OnednnGemm::Impl {
    std::vector<uint16_t> xb;  // bf16 copy of the activations (grows once)
    dnnl::engine eng{dnnl::engine::kind::cpu, 0};
    dnnl::stream strm{eng};
    HugePageArena weights;  // packed weights, consecutive on huge pages (fewer page faults at load)
    std::unordered_map<Key, Prim, KeyHash> prims;
    std::unordered_map<Key, PackedWeight, KeyHash> plain;  // run_plain's weight descriptors, by (N, K)
    std::vector<char> scratch;  // grows when a primitive is created, never during a planned run
    dnnl::memory scratch_mem;

    dnnl::matmul::primitive_desc make_pd(int64_t M, int64_t N, int64_t K, const dnnl::memory::desc& wmd,
                                         bool bias, Activation act, bool accumulate) {
        dnnl::memory::desc a({M, K}, wmd.data_type(), tag::ab), c({M, N}, dt::f32, tag::ab),
            b({1, N}, dt::f32, tag::ab);
        dnnl::post_ops po;
        if (act != Activation::none) po.append_eltwise(1.f, eltwise_of(act), 0.f, 0.f);
        if (accumulate) po.append_sum(1.f);
        dnnl::primitive_attr attr;
        attr.set_post_ops(po);
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        auto d = bias ? dnnl::matmul::desc(a, wmd, b, c) : dnnl::matmul::desc(a, wmd, c);
        return dnnl::matmul::primitive_desc(d, attr, eng);
    }
};

std::string onednn_description() {
    const dnnl_version_t* v = dnnl_version();
    const char* isa = "unknown";
    switch (dnnl::get_effective_cpu_isa()) {
        case dnnl::cpu_isa::sse41: isa = "sse41"; break;
        case dnnl::cpu_isa::avx: isa = "avx"; break;
        case dnnl::cpu_isa::avx2: isa = "avx2"; break;
        case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
        case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
        case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
        case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
        case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
        default: break;
    }
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
           ", ISA " + isa;
}

OnednnGemm::OnednnGemm() : impl_(std::make_unique<Impl>()) {}
OnednnGemm::~OnednnGemm() = default;

std::shared_ptr<PackedWeight> OnednnGemm::pack(const float* w, int64_t N, int64_t K, DType storage) {
    auto& I = *impl_;
    dt wdt = dt::f32;
    if (storage == DType::bf16) {
        check(cpu_has_native_bf16(), "precision bf16 needs a CPU with AVX512-BF16 or AMX (this one: " +
                                         onednn_description() + "); use --precision f32");
        wdt = dt::bf16;
    } else {
        check(storage == DType::f32, std::string("cpu GEMM: weight storage ") + dtype_name(storage) +
                                         " is not supported (f32, bf16)");
    }
    dnnl::memory::desc any({K, N}, wdt, tag::any);
    auto pd = I.make_pd(kLayoutM, N, K, any, true, Activation::none, false);
    // w is [N, K] row-major == the {K, N} matrix in "ba" order.
    dnnl::memory plain({{K, N}, dt::f32, tag::ba}, I.eng, const_cast<float*>(w));
    auto pw = std::make_shared<PackedWeight>();
    pw->N = N;
    pw->K = K;
    pw->wdt = wdt;
    pw->storage = I.weights.allocate(pd.weights_desc().get_size());
    pw->mem = dnnl::memory(pd.weights_desc(), I.eng, pw->storage.get());
    dnnl::reorder(plain, pw->mem).execute(I.strm, plain, pw->mem);
    I.strm.wait();
    return pw;
}

void OnednnGemm::run_plain(const float* x, int64_t M, const float* w, int64_t N, int64_t K, const float* bias,
                           Activation act, bool accumulate, float* y) {
    auto& I = *impl_;
    auto it = I.plain.find({N, K, 0, 0});
    if (it == I.plain.end()) {  // one descriptor per weight shape, made on first use
        PackedWeight pw;
        pw.N = N, pw.K = K, pw.plain = true;
        pw.mem = dnnl::memory({{K, N}, dt::f32, tag::ba}, I.eng, nullptr);
        it = I.plain.emplace(Key{N, K, 0, 0}, std::move(pw)).first;
    }
    it->second.mem.set_data_handle(const_cast<float*>(w));
    run(x, M, it->second, bias, act, accumulate, y);
}

void OnednnGemm::run(const float* x, int64_t M, const PackedWeight& w, const float* bias, Activation act,
                     bool accumulate, float* y) {
    auto& I = *impl_;
    const int flags = (bias ? 1 : 0) | (w.wdt == dt::bf16 ? 2 : 0) | (accumulate ? 4 : 0) | (int(act) << 3) |
                      (w.plain ? 1 << 6 : 0);
    const Key key{M, w.N, w.K, flags};
    auto it = I.prims.find(key);
    if (it == I.prims.end()) {
        auto pd = I.make_pd(M, w.N, w.K, w.mem.get_desc(), bias, act, accumulate);
        Prim p;
        p.prim = dnnl::matmul(pd);
        p.src = dnnl::memory(pd.src_desc(), I.eng, nullptr);
        p.wei = dnnl::memory(pd.weights_desc(), I.eng, nullptr);
        p.dst = dnnl::memory(pd.dst_desc(), I.eng, nullptr);
        p.args = {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_WEIGHTS, p.wei}, {DNNL_ARG_DST, p.dst}};
        if (bias) {
            p.bias = dnnl::memory({{1, w.N}, dt::f32, tag::ab}, I.eng, nullptr);
            p.args[DNNL_ARG_BIAS] = p.bias;
        }
        const size_t need = pd.scratchpad_desc().get_size();
        if (need > I.scratch.size()) {
            I.scratch.resize(need);
            for (auto& [k, q] : I.prims) {  // re-pointed below
                q.args.erase(DNNL_ARG_SCRATCHPAD);
                q.cargs.clear();
            }
        }
        it = I.prims.emplace(key, std::move(p)).first;
    }
    Prim& p = it->second;
    if (!p.args.count(DNNL_ARG_SCRATCHPAD)) {
        p.args[DNNL_ARG_SCRATCHPAD] =
            dnnl::memory({{int64_t(I.scratch.size())}, dt::u8, tag::a}, I.eng, I.scratch.data());
        p.cargs.clear();
    }
    if (p.cargs.empty())
        for (const auto& [arg, mem] : p.args) p.cargs.push_back({arg, mem.get()});
    if (w.wdt == dt::bf16) {
        if (int64_t(I.xb.size()) < M * w.K) I.xb.resize(size_t(M * w.K));  // first run of a plan only
        to_bf16(x, M * w.K, I.xb.data());
        p.src.set_data_handle(I.xb.data());
    } else {
        p.src.set_data_handle(const_cast<float*>(x));
    }
    p.wei.set_data_handle(w.mem.get_data_handle());
    p.dst.set_data_handle(y);
    if (bias) p.bias.set_data_handle(const_cast<float*>(bias));
    const dnnl_status_t st = dnnl_primitive_execute(p.prim.get(), I.strm.get(), int(p.cargs.size()), p.cargs.data());
    if (st != dnnl_success) throw Error("oneDNN matmul failed (status " + std::to_string(int(st)) + ")");
    I.strm.wait();
}

}  // namespace vitrt::cpu
