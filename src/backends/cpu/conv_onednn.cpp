#include "backends/cpu/conv_onednn.hpp"

#include <array>
#include <map>

#include <dnnl.hpp>

#include "backends/cpu/onednn_post_ops.hpp"

namespace vitrt::cpu {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct ConvWeight::Packed {
    // One entry per blocked layout a primitive asked for (usually one per weight).
    std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> forms;
};

namespace {

using Key = std::array<int64_t, 14>;

struct Prim {
    dnnl::convolution_forward prim;
    dnnl::memory::desc wdesc;
    dnnl::memory src, wei, bias, dst, scratch;
    size_t scratch_size = 0;  // bytes `scratch` describes; 0: to be (re)made over the shared buffer
    std::vector<dnnl_exec_arg_t> args;  // for the C API: the C++ execute() builds a vector per call
};

dnnl::memory::dims weight_dims(const ConvWeight& w, int64_t groups) {
    if (groups == 1) return {w.O, w.Ig, w.KH, w.KW};
    return {groups, w.O / groups, w.Ig, w.KH, w.KW};
}

}  // namespace

struct OnednnConv::Impl {
    dnnl::engine eng{dnnl::engine::kind::cpu, 0};
    dnnl::stream strm{eng};
    std::map<Key, Prim> prims;
    std::vector<char> scratch;  // grows when a primitive is created, never during a planned run

    Prim make(const ConvWeight& w, const ConvCall& c) {
        const int64_t p = c.pad, s = c.stride;
        dnnl::memory::desc src({c.B, c.C, c.H, c.W}, dt::f32, tag::nhwc);
        dnnl::memory::desc dst({c.B, w.O, c.Ho, c.Wo}, dt::f32, tag::nhwc);
        dnnl::memory::desc wei(weight_dims(w, c.groups), dt::f32, tag::any);
        dnnl::memory::desc bias({w.O}, dt::f32, tag::a);
        dnnl::post_ops po;
        if (c.act != Activation::none) po.append_eltwise(1.f, eltwise_of(c.act), 0.f, 0.f);
        if (c.accumulate) po.append_sum(1.f);
        dnnl::primitive_attr attr;
        attr.set_post_ops(po);
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        const dnnl::memory::dims strides{s, s}, pad{p, p};
        auto d = c.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                          dnnl::algorithm::convolution_direct, src, wei, bias, dst,
                                                          strides, pad, pad)
                        : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                          dnnl::algorithm::convolution_direct, src, wei, dst, strides,
                                                          pad, pad);
        dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
        Prim r;
        r.prim = dnnl::convolution_forward(pd);
        r.wdesc = pd.weights_desc();
        r.src = dnnl::memory(pd.src_desc(), eng, nullptr);
        r.wei = dnnl::memory(pd.weights_desc(), eng, nullptr);
        r.dst = dnnl::memory(pd.dst_desc(), eng, nullptr);
        r.args = {{DNNL_ARG_SRC, r.src.get()}, {DNNL_ARG_WEIGHTS, r.wei.get()}, {DNNL_ARG_DST, r.dst.get()}};
        if (c.bias) {
            r.bias = dnnl::memory(bias, eng, nullptr);
            r.args.push_back({DNNL_ARG_BIAS, r.bias.get()});
        }
        r.scratch = dnnl::memory({{1}, dt::u8, tag::a}, eng, nullptr);  // sized in run()
        const size_t need = pd.scratchpad_desc().get_size();
        if (need > scratch.size()) {
            scratch.resize(need);
            for (auto& [k, q] : prims) q.scratch_size = 0;  // re-pointed on their next run
        }
        return r;
    }

    // The weight in the primitive's layout: reordered once, then kept with the weight.
    void* weights_for(const ConvWeight& w, const Prim& p, int64_t groups) {
        for (const auto& [desc, mem] : w.packed->forms)
            if (desc == p.wdesc) return mem.get_data_handle();
        const tag plain_tag = groups == 1 ? tag::oihw : tag::goihw;
        dnnl::memory plain({weight_dims(w, groups), dt::f32, plain_tag}, eng, const_cast<float*>(w.oihw.data()));
        dnnl::memory packed(p.wdesc, eng);
        dnnl::reorder(plain, packed).execute(strm, plain, packed);
        strm.wait();
        w.packed->forms.emplace_back(p.wdesc, packed);
        return packed.get_data_handle();
    }
};

OnednnConv::OnednnConv() : impl_(std::make_unique<Impl>()) {}
OnednnConv::~OnednnConv() = default;

std::shared_ptr<ConvWeight> OnednnConv::make_weight(const float* oihw, int64_t O, int64_t Ig, int64_t KH, int64_t KW) {
    auto w = std::make_shared<ConvWeight>();
    w->O = O;
    w->Ig = Ig;
    w->KH = KH;
    w->KW = KW;
    w->oihw.assign(oihw, oihw + O * Ig * KH * KW);
    w->packed = std::make_shared<ConvWeight::Packed>();
    return w;
}

void OnednnConv::run(const float* x, const ConvWeight& w, const ConvCall& c, float* y) {
    auto& I = *impl_;
    const int flags = (c.bias ? 1 : 0) | (c.accumulate ? 2 : 0) | (int(c.act) << 2);
    const Key key{c.B, c.H, c.W, c.C, w.O, w.KH, w.KW, c.stride, c.pad, c.groups, flags, c.Ho, c.Wo, w.Ig};
    auto it = I.prims.find(key);
    if (it == I.prims.end()) it = I.prims.emplace(key, I.make(w, c)).first;
    Prim& p = it->second;
    if (p.scratch_size != I.scratch.size() || p.args.back().arg != DNNL_ARG_SCRATCHPAD) {
        p.scratch = dnnl::memory({{int64_t(I.scratch.size())}, dt::u8, tag::a}, I.eng, I.scratch.data());
        p.scratch_size = I.scratch.size();
        if (p.args.back().arg == DNNL_ARG_SCRATCHPAD) p.args.pop_back();
        p.args.push_back({DNNL_ARG_SCRATCHPAD, p.scratch.get()});
    }
    p.src.set_data_handle(const_cast<float*>(x));
    p.wei.set_data_handle(I.weights_for(w, p, c.groups));
    p.dst.set_data_handle(y);
    if (c.bias) p.bias.set_data_handle(const_cast<float*>(c.bias));
    const dnnl_status_t st = dnnl_primitive_execute(p.prim.get(), I.strm.get(), int(p.args.size()), p.args.data());
    if (st != dnnl_success) throw Error("oneDNN convolution failed (status " + std::to_string(int(st)) + ")");
    I.strm.wait();
}

}  // namespace vitrt::cpu
