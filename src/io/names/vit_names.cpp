#include "io/names/vit_names.hpp"


namespace vitrt {
namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// Strips a prefix every key shares (DataParallel "module.", Lightning "model.").
std::string common_prefix(const Checkpoint& c) {
    for (const char* p : {"module.", "model.", "state_dict."}) {
        bool all = !c.tensors.empty();
        for (const auto& [k, v] : c.tensors) all = all && starts_with(k, p);
        if (all) return p;
    }
    return "";
}

// Copies a host tensor as f32 with a new shape (same element count).
HostTensor reshaped_f32(const HostTensor& t, const Shape& shape) {
    HostTensor f = to_f32(t);
    check(numel(shape) == f.view.numel(), "internal: reshape " + shape_str(f.view.shape) + " -> " + shape_str(shape));
    HostTensor r = HostTensor::zeros_f32(shape);
    std::copy(f.f32(), f.f32() + f.view.numel(), r.mutable_f32());
    return r;
}

// 2-D transpose of a tensor viewed as [rows, cols] -> [cols, rows].
HostTensor transposed(const HostTensor& t, int64_t rows, int64_t cols) {
    HostTensor f = to_f32(t);
    check(f.view.numel() == rows * cols, "internal: transpose size mismatch");
    HostTensor r = HostTensor::zeros_f32({cols, rows});
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) r.mutable_f32()[j * rows + i] = f.f32()[i * cols + j];
    return r;
}

HostTensor concat_rows(const std::vector<HostTensor>& parts) {
    int64_t rows = 0, cols = -1;
    for (const auto& p : parts) {
        const int64_t c = p.view.rank() == 1 ? 1 : p.view.dim(-1);
        const int64_t r = p.view.numel() / c;
        check(cols < 0 || c == cols, "q/k/v tensors have different widths");
        cols = c;
        rows += r;
    }
    HostTensor out = HostTensor::zeros_f32(parts[0].view.rank() == 1 ? Shape{rows} : Shape{rows, cols});
    int64_t off = 0;
    for (const auto& p : parts) {
        HostTensor f = to_f32(p);
        std::copy(f.f32(), f.f32() + f.view.numel(), out.mutable_f32() + off);
        off += f.view.numel();
    }
    return out;
}

// Moves tensors from a source naming to timm's, one name at a time; whatever is left over keeps
// its source name so that the model reports it as unused.
struct Renamer {
    const Checkpoint& ckpt;
    std::string strip, scheme;  // common key prefix; "transformers", "torchvision"
    std::map<std::string, HostTensor> src, out;

    Renamer(const Checkpoint& c, std::string prefix, std::string scheme_name)
        : ckpt(c), strip(std::move(prefix)), scheme(std::move(scheme_name)) {
        for (const auto& [k, v] : c.tensors) src[k.substr(strip.size())] = v;
    }
    bool has(const std::string& from) const { return src.count(from) != 0; }
    HostTensor pop(const std::string& from) {
        auto it = src.find(from);
        check(it != src.end(), ckpt.path + ": " + scheme + " checkpoint is missing '" + strip + from + "'");
        HostTensor t = it->second;
        src.erase(it);
        return t;
    }
    void take(const std::string& from, const std::string& to) { out[to] = pop(from); }
    void take_opt(const std::string& from, const std::string& to) {
        if (has(from)) take(from, to);
    }
    std::map<std::string, HostTensor> finish() {
        for (const auto& [k, v] : src) out[strip + k] = v;
        return std::move(out);
    }
};

std::map<std::string, HostTensor> from_transformers(const Checkpoint& c, const std::string& strip) {
    // ViTForImageClassification: vit.*, classifier.*; ViTModel: no "vit." prefix.
    Renamer r(c, strip, "transformers");
    const std::string root = r.has("vit.embeddings.cls_token") ? "vit." : (r.has("deit.embeddings.cls_token") ? "deit." : "");
    auto take = [&](const std::string& from, const std::string& to) { r.take(from, to); };
    auto take_opt = [&](const std::string& from, const std::string& to) { r.take_opt(from, to); };
    const std::string e = root + "embeddings.";
    take(e + "cls_token", "cls_token");
    take_opt(e + "distillation_token", "dist_token");
    take(e + "position_embeddings", "pos_embed");
    take(e + "patch_embeddings.projection.weight", "patch_embed.proj.weight");
    take_opt(e + "patch_embeddings.projection.bias", "patch_embed.proj.bias");
    for (int i = 0;; ++i) {
        const std::string l = root + "encoder.layer." + std::to_string(i) + ".";
        if (!r.has(l + "layernorm_before.weight")) break;
        const std::string b = "blocks." + std::to_string(i) + ".";
        take(l + "layernorm_before.weight", b + "norm1.weight");
        take(l + "layernorm_before.bias", b + "norm1.bias");
        std::vector<HostTensor> w, bias;
        for (const char* n : {"query", "key", "value"}) {
            const std::string base = l + "attention.attention." + n;
            w.push_back(r.pop(base + ".weight"));
            if (r.has(base + ".bias")) bias.push_back(r.pop(base + ".bias"));
        }
        r.out[b + "attn.qkv.weight"] = concat_rows(w);
        if (bias.size() == 3) r.out[b + "attn.qkv.bias"] = concat_rows(bias);
        take(l + "attention.output.dense.weight", b + "attn.proj.weight");
        take(l + "attention.output.dense.bias", b + "attn.proj.bias");
        take(l + "layernorm_after.weight", b + "norm2.weight");
        take(l + "layernorm_after.bias", b + "norm2.bias");
        take(l + "intermediate.dense.weight", b + "mlp.fc1.weight");
        take(l + "intermediate.dense.bias", b + "mlp.fc1.bias");
        take(l + "output.dense.weight", b + "mlp.fc2.weight");
        take(l + "output.dense.bias", b + "mlp.fc2.bias");
    }
    take_opt(root + "layernorm.weight", "norm.weight");
    take_opt(root + "layernorm.bias", "norm.bias");
    take_opt("classifier.weight", "head.weight");
    take_opt("classifier.bias", "head.bias");
    take_opt("cls_classifier.weight", "head.weight");  // DeiTForImageClassificationWithTeacher
    take_opt("cls_classifier.bias", "head.bias");
    take_opt("distillation_classifier.weight", "head_dist.weight");
    take_opt("distillation_classifier.bias", "head_dist.bias");
    return r.finish();
}

std::map<std::string, HostTensor> from_torchvision(const Checkpoint& c, const std::string& strip) {
    // torchvision.models.VisionTransformer (vit_b_16, vit_l_16, ...).
    Renamer r(c, strip, "torchvision");
    auto take = [&](const std::string& from, const std::string& to) { r.take(from, to); };
    take("conv_proj.weight", "patch_embed.proj.weight");
    take("conv_proj.bias", "patch_embed.proj.bias");
    take("class_token", "cls_token");
    take("encoder.pos_embedding", "pos_embed");
    for (int i = 0;; ++i) {
        const std::string l = "encoder.layers.encoder_layer_" + std::to_string(i) + ".";
        if (!r.has(l + "ln_1.weight")) break;
        const std::string b = "blocks." + std::to_string(i) + ".";
        take(l + "ln_1.weight", b + "norm1.weight");
        take(l + "ln_1.bias", b + "norm1.bias");
        take(l + "self_attention.in_proj_weight", b + "attn.qkv.weight");
        take(l + "self_attention.in_proj_bias", b + "attn.qkv.bias");
        take(l + "self_attention.out_proj.weight", b + "attn.proj.weight");
        take(l + "self_attention.out_proj.bias", b + "attn.proj.bias");
        take(l + "ln_2.weight", b + "norm2.weight");
        take(l + "ln_2.bias", b + "norm2.bias");
        // MLP as torchvision.ops.MLP ("mlp.0", "mlp.3") or the older MLPBlock ("mlp.linear_1/2").
        const bool old = r.has(l + "mlp.linear_1.weight");
        take(l + (old ? "mlp.linear_1.weight" : "mlp.0.weight"), b + "mlp.fc1.weight");
        take(l + (old ? "mlp.linear_1.bias" : "mlp.0.bias"), b + "mlp.fc1.bias");
        take(l + (old ? "mlp.linear_2.weight" : "mlp.3.weight"), b + "mlp.fc2.weight");
        take(l + (old ? "mlp.linear_2.bias" : "mlp.3.bias"), b + "mlp.fc2.bias");
    }
    take("encoder.ln.weight", "norm.weight");
    take("encoder.ln.bias", "norm.bias");
    if (r.has("heads.head.weight")) {
        take("heads.head.weight", "head.weight");
        take("heads.head.bias", "head.bias");
    }
    return r.finish();  // e.g. heads.pre_logits stays: reported unused
}

std::map<std::string, HostTensor> from_google_npz(const Checkpoint& c) {
    std::map<std::string, HostTensor> src = c.tensors, out;
    auto get = [&](const std::string& k) -> HostTensor {
        auto it = src.find(k);
        check(it != src.end(), c.path + ": npz checkpoint is missing '" + k + "'");
        HostTensor t = it->second;
        src.erase(it);
        return t;
    };
    auto dims = [&](const HostTensor& t, size_t rank, const std::string& k) {
        check(t.view.shape.size() == rank, c.path + ": '" + k + "' has shape " + shape_str(t.view.shape) +
                                               ", expected rank " + std::to_string(rank));
        return t.view.shape;
    };
    // Patch embedding: HWIO [P, P, C, D] -> [D, C, P, P].
    {
        HostTensor k = to_f32(get("embedding/kernel"));
        const Shape s = dims(k, 4, "embedding/kernel");
        const int64_t P0 = s[0], P1 = s[1], C = s[2], D = s[3];
        HostTensor w = HostTensor::zeros_f32({D, C, P0, P1});
        for (int64_t y = 0; y < P0; ++y)
            for (int64_t x = 0; x < P1; ++x)
                for (int64_t ci = 0; ci < C; ++ci)
                    for (int64_t d = 0; d < D; ++d)
                        w.mutable_f32()[((d * C + ci) * P0 + y) * P1 + x] = k.f32()[((y * P1 + x) * C + ci) * D + d];
        out["patch_embed.proj.weight"] = w;
        out["patch_embed.proj.bias"] = get("embedding/bias");
    }
    if (src.count("cls")) out["cls_token"] = get("cls");
    out["pos_embed"] = get("Transformer/posembed_input/pos_embedding");
    for (int i = 0;; ++i) {
        const std::string p = "Transformer/encoderblock_" + std::to_string(i) + "/";
        if (!src.count(p + "LayerNorm_0/scale")) break;
        const std::string b = "blocks." + std::to_string(i) + ".";
        const std::string a = p + "MultiHeadDotProductAttention_1/";
        out[b + "norm1.weight"] = get(p + "LayerNorm_0/scale");
        out[b + "norm1.bias"] = get(p + "LayerNorm_0/bias");
        std::vector<HostTensor> w, bias;
        for (const char* n : {"query", "key", "value"}) {
            HostTensor k = get(a + n + "/kernel");  // [D, H, hd]
            const Shape s = dims(k, 3, a + n + "/kernel");
            w.push_back(transposed(k, s[0], s[1] * s[2]));  // -> [H*hd, D]
            HostTensor bb = get(a + n + "/bias");           // [H, hd]
            bias.push_back(reshaped_f32(bb, {bb.view.numel()}));
        }
        out[b + "attn.qkv.weight"] = concat_rows(w);
        out[b + "attn.qkv.bias"] = concat_rows(bias);
        {
            HostTensor k = get(a + "out/kernel");  // [H, hd, D]
            const Shape s = dims(k, 3, a + "out/kernel");
            out[b + "attn.proj.weight"] = transposed(k, s[0] * s[1], s[2]);  // -> [D, H*hd]
            out[b + "attn.proj.bias"] = get(a + "out/bias");
        }
        out[b + "norm2.weight"] = get(p + "LayerNorm_2/scale");
        out[b + "norm2.bias"] = get(p + "LayerNorm_2/bias");
        for (int j = 0; j < 2; ++j) {
            const std::string d = p + "MlpBlock_3/Dense_" + std::to_string(j) + "/";
            HostTensor k = get(d + "kernel");  // [in, out]
            const Shape s = dims(k, 2, d + "kernel");
            out[b + (j ? "mlp.fc2.weight" : "mlp.fc1.weight")] = transposed(k, s[0], s[1]);
            out[b + (j ? "mlp.fc2.bias" : "mlp.fc1.bias")] = get(d + "bias");
        }
    }
    out["norm.weight"] = get("Transformer/encoder_norm/scale");
    out["norm.bias"] = get("Transformer/encoder_norm/bias");
    if (src.count("head/kernel")) {
        HostTensor k = get("head/kernel");
        const Shape s = dims(k, 2, "head/kernel");
        if (s[1] > 0) {
            out["head.weight"] = transposed(k, s[0], s[1]);
            out["head.bias"] = get("head/bias");
        } else {
            src.erase("head/bias");
        }
    }
    for (const auto& [k, v] : src) out[k] = v;
    return out;
}

}  // namespace

const char* vit_naming_name(VitNaming n) {
    switch (n) {
        case VitNaming::timm: return "timm";
        case VitNaming::transformers: return "transformers";
        case VitNaming::torchvision: return "torchvision";
        case VitNaming::google_npz: return "google npz";
        case VitNaming::unknown: break;
    }
    return "unknown";
}

VitNaming detect_vit_naming(const Checkpoint& c) {
    const std::string p = common_prefix(c);
    if (c.has(p + "patch_embed.proj.weight")) return VitNaming::timm;
    for (const char* root : {"vit.", "deit.", ""})
        if (c.has(p + root + std::string("embeddings.patch_embeddings.projection.weight"))) return VitNaming::transformers;
    if (c.has("embedding/kernel")) return VitNaming::google_npz;
    if (c.has(p + "conv_proj.weight") && c.has(p + "encoder.pos_embedding")) return VitNaming::torchvision;
    return VitNaming::unknown;
}

std::map<std::string, HostTensor> vit_tensors_as_timm(const Checkpoint& c, VitNaming naming) {
    const std::string strip = common_prefix(c);
    switch (naming) {
        case VitNaming::timm: {
            std::map<std::string, HostTensor> out;
            for (const auto& [k, v] : c.tensors) out[k.substr(strip.size())] = v;
            return out;
        }
        case VitNaming::transformers: return from_transformers(c, strip);
        case VitNaming::google_npz: return from_google_npz(c);
        case VitNaming::torchvision: return from_torchvision(c, strip);
        case VitNaming::unknown: break;
    }
    throw Error(c.path + ": not a ViT checkpoint vitrt recognises (no patch_embed.proj.weight, "
                         "embeddings.patch_embeddings.projection.weight, conv_proj.weight or embedding/kernel)");
}

}  // namespace vitrt
