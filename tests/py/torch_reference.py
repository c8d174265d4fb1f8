"""Reference cases for tests/test_torch_reference.cpp, made with Debian's PyTorch (no timm, no
transformers, no safetensors package needed).

Usage: /usr/bin/python3 torch_reference.py OUT_DIR CASE [CASE ...]     (CASE "all": every case)

For each case writes OUT_DIR/CASE/:
  the checkpoint (model.safetensors, model.npz or a transformers model directory),
  meta.json   {"case", "models": {naming: path relative to the case dir}, "runs": [{"name", "image_size",
               "batch", "classes", "input", "expected", "max_abs_ref", "ref_std", "input_dep",
               "f64_noise"}], ...}
  input_<run>.f32 / expected_<run>.f32: raw little-endian f32, input NCHW [batch, 3, S, S]
               (~N(0,1), fed as is) and the logits [batch, classes] computed here in float32.

Weights are seeded random draws scaled so activations stay O(1) and no part of the network is
negligible (a weak init would let real bugs pass):
  matrices / conv kernels ~ N(0, 1/fan_in); biases ~ N(0, 0.2^2); LayerNorm weights 1 + N(0, 0.2^2);
  cls / register tokens and position embeddings ~ N(0, 0.5^2); LayerScale gamma 0.5 + N(0, 0.2^2).

"f64_noise" is max|logits(f32) - logits(f64)| of the same reference in float64 (the float32 noise
floor of the reference itself). "input_dep" is std(logits[0] - logits[1]): how much the logits depend on
the image (a bug in patch embedding would hide below it if it were tiny).

Cases:
  tv_b16, tv_b32, tv_l16   torchvision VisionTransformer (vit_b_16/b_32/l_16 widths, 2 layers),
                           torchvision's own state_dict names; expected = model.eval()(x).
                           tv_b16 also holds model.npz: the same weights under Google AugReg names
                           (HWIO kernels, [D, H, hd] q/k/v kernels, ...), the exact inverse of timm's
                           _load_weights.
  tv_legacy                small torchvision ViT (width 256, 4 heads) under pre-0.13 torchvision MLP
                           names (mlp.linear_1/2) with a DataParallel "module." prefix.
  npz_h32                  small npz whose head dim is 32 (8 heads of 32 at width 256): the head
                           count must come from the q kernel's shape, not from width / 64.
  hf_vit                   transformers ViTForImageClassification directory (config.json with
                           id2label, preprocessor_config.json, model.safetensors); expected = a plain
                           torch port of transformers' ViT forward (LayerNorm eps 1e-12, exact GELU).
  timm_res                 timm-named vit_tiny_patch16_224 (depth 2) run at 224, 384 and 160; the
                           grid part of pos_embed resampled as timm's resample_abs_pos_embed.
  deit3                    deit3_small_patch16_224 (depth 2): no_embed_class + LayerScale; at 224, 288.
  reg4                     vit_medium_patch16_reg4_gap_256 (depth 1): 4 registers, no cls token,
                           avg pool, fc_norm; at 256 and 224.
  timm_f16, timm_bf16      the timm_res model stored as F16 / BF16; expected = the forward on the
                           stored weights upcast to f32.
"""
import copy
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# Writers


def write_safetensors(path, tensors, metadata=None):
    """safetensors: u64 LE header length, JSON header (padded with spaces to 8), raw LE data."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for k, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
        b = raw.numpy().tobytes()  # little-endian host (x86_64, aarch64)
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_f32(path, t):
    t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tofile(path)


# ---------------------------------------------------------------------------------------------
# Weight init


def init_value(name, shape, g):
    n = torch.randn(shape, generator=g, dtype=torch.float32)
    last = name.split(".")[-1]
    if any(s in name for s in ("token", "pos_embed", "pos_embedding", "position_embeddings")):
        return 0.5 * n
    if last == "gamma":
        return 0.5 + 0.2 * n
    if len(shape) >= 2:
        return n / math.sqrt(math.prod(shape[1:]))
    if "bias" in last:
        return 0.2 * n
    return 1.0 + 0.2 * n  # LayerNorm weight


def randomize_module(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(init_value(name, tuple(p.shape), g))
    return model


def random_state(shapes, seed):
    g = torch.Generator().manual_seed(seed)
    return {k: init_value(k, s, g) for k, s in shapes.items()}


def make_input(batch, size, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((batch, 3, size, size), generator=g, dtype=torch.float32)


# ---------------------------------------------------------------------------------------------
# Plain-torch forwards


def layer_norm(x, sd, prefix, eps):
    return F.layer_norm(x, x.shape[-1:], sd[prefix + ".weight"], sd[prefix + ".bias"], eps)


def resample_abs_pos_embed(posemb, new_size, num_prefix_tokens):
    """timm.layers.pos_embed.resample_abs_pos_embed (bicubic, antialias=True)."""
    if posemb.shape[1] == new_size[0] * new_size[1] + num_prefix_tokens and new_size[0] == new_size[1]:
        return posemb
    hw = int(math.sqrt(posemb.shape[1] - num_prefix_tokens))
    prefix, grid = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    D = grid.shape[-1]
    grid = grid.reshape(1, hw, hw, D).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new_size, mode="bicubic", antialias=True, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, D)
    return torch.cat([prefix, grid], dim=1)


def timm_forward(sd, x, heads, eps=1e-6, no_embed_class=False, global_pool="token"):
    """timm VisionTransformer.forward in eval mode, from a timm-named state dict."""
    B = x.shape[0]
    w = sd["patch_embed.proj.weight"]
    P = w.shape[-1]
    t = F.conv2d(x, w, sd.get("patch_embed.proj.bias"), stride=P)
    gh, gw = t.shape[-2:]
    t = t.flatten(2).transpose(1, 2)
    prefix = []
    if "cls_token" in sd:
        prefix.append(sd["cls_token"].expand(B, -1, -1))
    if "reg_token" in sd:
        prefix.append(sd["reg_token"].expand(B, -1, -1))
    npf = sum(p.shape[1] for p in prefix)
    pos = resample_abs_pos_embed(sd["pos_embed"], (gh, gw), 0 if no_embed_class else npf)
    if no_embed_class:
        t = torch.cat(prefix + [t + pos], dim=1)
    else:
        t = torch.cat(prefix + [t], dim=1) + pos
    T, D = t.shape[1], t.shape[2]
    hd = D // heads
    i = 0
    while f"blocks.{i}.norm1.weight" in sd:
        b = f"blocks.{i}."
        h = layer_norm(t, sd, b + "norm1", eps)
        qkv = F.linear(h, sd[b + "attn.qkv.weight"], sd.get(b + "attn.qkv.bias"))
        q, k, v = qkv.reshape(B, T, 3, heads, hd).permute(2, 0, 3, 1, 4)
        a = torch.softmax((q * hd ** -0.5) @ k.transpose(-2, -1), dim=-1) @ v
        o = F.linear(a.transpose(1, 2).reshape(B, T, D), sd[b + "attn.proj.weight"], sd[b + "attn.proj.bias"])
        t = t + (sd[b + "ls1.gamma"] * o if b + "ls1.gamma" in sd else o)
        h = layer_norm(t, sd, b + "norm2", eps)
        m = F.linear(F.gelu(F.linear(h, sd[b + "mlp.fc1.weight"], sd[b + "mlp.fc1.bias"])),
                     sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"])
        t = t + (sd[b + "ls2.gamma"] * m if b + "ls2.gamma" in sd else m)
        i += 1
    if "norm.weight" in sd:
        t = layer_norm(t, sd, "norm", eps)
    f = t[:, 0] if global_pool == "token" else t[:, npf:].mean(dim=1)
    if "fc_norm.weight" in sd:
        f = layer_norm(f, sd, "fc_norm", eps)
    return F.linear(f, sd["head.weight"], sd["head.bias"])


def hf_forward(sd, x, cfg):
    """transformers ViTForImageClassification.forward in eval mode (modeling_vit.py), plain torch."""
    eps, heads = cfg["layer_norm_eps"], cfg["num_attention_heads"]
    e = "vit.embeddings."
    B = x.shape[0]
    P = cfg["patch_size"]
    emb = F.conv2d(x, sd[e + "patch_embeddings.projection.weight"], sd[e + "patch_embeddings.projection.bias"], stride=P)
    emb = emb.flatten(2).transpose(1, 2)
    h = torch.cat([sd[e + "cls_token"].expand(B, -1, -1), emb], dim=1) + sd[e + "position_embeddings"]
    T, D = h.shape[1], h.shape[2]
    hd = D // heads

    def split(t):  # transpose_for_scores
        return t.view(B, T, heads, hd).permute(0, 2, 1, 3)

    for i in range(cfg["num_hidden_layers"]):
        l = f"vit.encoder.layer.{i}."
        a = f"{l}attention.attention."
        n = layer_norm(h, sd, l + "layernorm_before", eps)
        q = split(F.linear(n, sd[a + "query.weight"], sd[a + "query.bias"]))
        k = split(F.linear(n, sd[a + "key.weight"], sd[a + "key.bias"]))
        v = split(F.linear(n, sd[a + "value.weight"], sd[a + "value.bias"]))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).reshape(B, T, D)
        h = F.linear(ctx, sd[l + "attention.output.dense.weight"], sd[l + "attention.output.dense.bias"]) + h
        n = layer_norm(h, sd, l + "layernorm_after", eps)
        m = F.gelu(F.linear(n, sd[l + "intermediate.dense.weight"], sd[l + "intermediate.dense.bias"]))
        h = F.linear(m, sd[l + "output.dense.weight"], sd[l + "output.dense.bias"]) + h
    h = layer_norm(h, sd, "vit.layernorm", eps)
    return F.linear(h[:, 0, :], sd["classifier.weight"], sd["classifier.bias"])


def to64(sd):
    return {k: v.double() for k, v in sd.items()}


def maxdiff(a, b):
    return float((a.double() - b.double()).abs().max())


# ---------------------------------------------------------------------------------------------
# Case helpers


class Case:
    def __init__(self, out_dir, name):
        self.dir = os.path.join(out_dir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.meta = {"case": name, "runs": []}

    def add_run(self, name, x, expected, expected64, **extra):
        write_f32(os.path.join(self.dir, f"input_{name}.f32"), x)
        write_f32(os.path.join(self.dir, f"expected_{name}.f32"), expected)
        run = {"name": name, "image_size": x.shape[-1], "batch": x.shape[0], "input": f"input_{name}.f32",
               "expected": f"expected_{name}.f32", "classes": expected.shape[-1],
               "max_abs_ref": float(expected.abs().max()), "ref_std": float(expected.std()),
               "input_dep": float((expected[0] - expected[-1]).std()) if expected.shape[0] > 1 else None,
               "f64_noise": maxdiff(expected, expected64) if expected64 is not None else None}
        run.update(extra)
        self.meta["runs"].append(run)

    def finish(self, **meta):
        self.meta.update(meta)
        with open(os.path.join(self.dir, "meta.json"), "w") as f:
            json.dump(self.meta, f, indent=1)
        for r in self.meta["runs"]:
            noise = "n/a" if r["f64_noise"] is None else f"{r['f64_noise']:.2e}"
            print(f"{self.meta['case']}/{r['name']}: max|ref| {r['max_abs_ref']:.3f}, std {r['ref_std']:.3f}, "
                  f"std(logits[0]-logits[1]) {r['input_dep']:.3f}, f64 noise {noise}")


TV_DIMS = {  # torchvision vit_b_16 / vit_b_32 / vit_l_16, depth reduced to 2
    "tv_b16": dict(patch_size=16, num_heads=12, hidden_dim=768, mlp_dim=3072),
    "tv_b32": dict(patch_size=32, num_heads=12, hidden_dim=768, mlp_dim=3072),
    "tv_l16": dict(patch_size=16, num_heads=16, hidden_dim=1024, mlp_dim=4096),
}


def torchvision_model(dims, seed):
    from torchvision.models.vision_transformer import VisionTransformer
    m = VisionTransformer(image_size=224, num_layers=2, num_classes=1000, **dims)
    return randomize_module(m, seed).eval()


def case_torchvision(out_dir, name, seed, npz=False):
    c = Case(out_dir, name)
    dims = TV_DIMS[name]
    model = torchvision_model(dims, seed)
    x = make_input(2, 224, seed + 1)
    y = model(x)
    y64 = copy.deepcopy(model).double()(x.double())
    write_safetensors(os.path.join(c.dir, "model.safetensors"), model.state_dict())
    models = {"torchvision": "model.safetensors"}
    if npz:
        np.savez(os.path.join(c.dir, "model.npz"), **torchvision_to_npz(model.state_dict(), dims["num_heads"]))
        models["google npz"] = "model.npz"
    c.add_run("224", x, y, y64)
    c.finish(models=models, heads=dims["num_heads"], embed_dim=dims["hidden_dim"], depth=2, patch=dims["patch_size"])


def case_torchvision_legacy(out_dir, name, seed):
    """A small torchvision ViT saved as older torchvision (< 0.13) named its MLP (mlp.linear_1 /
    mlp.linear_2) and as nn.DataParallel prefixes every key ("module.")."""
    c = Case(out_dir, name)
    dims = dict(patch_size=16, num_heads=4, hidden_dim=256, mlp_dim=512)
    model = torchvision_model(dims, seed)
    x = make_input(2, 224, seed + 1)
    y = model(x)
    y64 = copy.deepcopy(model).double()(x.double())
    sd = {}
    for k, v in model.state_dict().items():
        k = k.replace(".mlp.0.", ".mlp.linear_1.").replace(".mlp.3.", ".mlp.linear_2.")
        sd["module." + k] = v
    write_safetensors(os.path.join(c.dir, "model.safetensors"), sd)
    c.add_run("224", x, y, y64)
    c.finish(models={"torchvision": "model.safetensors"}, heads=4, embed_dim=256, depth=2, patch=16)


def torchvision_to_npz(sd, heads):
    """Google AugReg naming, the inverse of timm's vision_transformer._load_weights."""
    n = lambda t: t.detach().numpy().astype("<f4")
    D = sd["class_token"].shape[-1]
    hd = D // heads
    w = {
        "embedding/kernel": n(sd["conv_proj.weight"].permute(2, 3, 1, 0)),  # [D,C,P,P] -> HWIO
        "embedding/bias": n(sd["conv_proj.bias"]),
        "cls": n(sd["class_token"]),
        "Transformer/posembed_input/pos_embedding": n(sd["encoder.pos_embedding"]),
        "Transformer/encoder_norm/scale": n(sd["encoder.ln.weight"]),
        "Transformer/encoder_norm/bias": n(sd["encoder.ln.bias"]),
        "head/kernel": n(sd["heads.head.weight"].t()),
        "head/bias": n(sd["heads.head.bias"]),
    }
    i = 0
    while f"encoder.layers.encoder_layer_{i}.ln_1.weight" in sd:
        l = f"encoder.layers.encoder_layer_{i}."
        g = f"Transformer/encoderblock_{i}/"
        a = g + "MultiHeadDotProductAttention_1/"
        w[g + "LayerNorm_0/scale"] = n(sd[l + "ln_1.weight"])
        w[g + "LayerNorm_0/bias"] = n(sd[l + "ln_1.bias"])
        qkv_w = sd[l + "self_attention.in_proj_weight"].chunk(3)
        qkv_b = sd[l + "self_attention.in_proj_bias"].chunk(3)
        for j, nm in enumerate(("query", "key", "value")):
            w[a + nm + "/kernel"] = n(qkv_w[j].t().reshape(D, heads, hd))  # [D_in, H, hd]
            w[a + nm + "/bias"] = n(qkv_b[j].reshape(heads, hd))
        w[a + "out/kernel"] = n(sd[l + "self_attention.out_proj.weight"].t().reshape(heads, hd, D))
        w[a + "out/bias"] = n(sd[l + "self_attention.out_proj.bias"])
        w[g + "LayerNorm_2/scale"] = n(sd[l + "ln_2.weight"])
        w[g + "LayerNorm_2/bias"] = n(sd[l + "ln_2.bias"])
        for j, m in enumerate(("mlp.0", "mlp.3")):
            w[g + f"MlpBlock_3/Dense_{j}/kernel"] = n(sd[l + m + ".weight"].t())
            w[g + f"MlpBlock_3/Dense_{j}/bias"] = n(sd[l + m + ".bias"])
        i += 1
    return w


def npz_as_timm(w):
    """What timm's _load_weights puts into a VisionTransformer (the direction timm reads)."""
    def n2p(a, t=True):
        if a.ndim == 4 and a.shape[0] == a.shape[1] == a.shape[2] == 1:
            a = a.flatten()
        if t:
            a = a.transpose({4: [3, 2, 0, 1], 3: [2, 0, 1], 2: [1, 0]}[a.ndim]) if a.ndim in (2, 3, 4) else a
        return torch.from_numpy(np.ascontiguousarray(a))
    sd = {"patch_embed.proj.weight": n2p(w["embedding/kernel"]), "patch_embed.proj.bias": n2p(w["embedding/bias"]),
          "cls_token": n2p(w["cls"], t=False),
          "pos_embed": n2p(w["Transformer/posembed_input/pos_embedding"], t=False),
          "norm.weight": n2p(w["Transformer/encoder_norm/scale"]), "norm.bias": n2p(w["Transformer/encoder_norm/bias"]),
          "head.weight": n2p(w["head/kernel"]), "head.bias": n2p(w["head/bias"])}
    i = 0
    while f"Transformer/encoderblock_{i}/LayerNorm_0/scale" in w:
        g, b = f"Transformer/encoderblock_{i}/", f"blocks.{i}."
        a = g + "MultiHeadDotProductAttention_1/"
        sd[b + "norm1.weight"] = n2p(w[g + "LayerNorm_0/scale"])
        sd[b + "norm1.bias"] = n2p(w[g + "LayerNorm_0/bias"])
        sd[b + "attn.qkv.weight"] = torch.cat([n2p(w[a + q + "/kernel"], t=False).flatten(1).T for q in ("query", "key", "value")])
        sd[b + "attn.qkv.bias"] = torch.cat([n2p(w[a + q + "/bias"], t=False).reshape(-1) for q in ("query", "key", "value")])
        sd[b + "attn.proj.weight"] = n2p(w[a + "out/kernel"]).flatten(1)
        sd[b + "attn.proj.bias"] = n2p(w[a + "out/bias"])
        sd[b + "norm2.weight"] = n2p(w[g + "LayerNorm_2/scale"])
        sd[b + "norm2.bias"] = n2p(w[g + "LayerNorm_2/bias"])
        for r in range(2):
            sd[b + f"mlp.fc{r + 1}.weight"] = n2p(w[g + f"MlpBlock_3/Dense_{r}/kernel"])
            sd[b + f"mlp.fc{r + 1}.bias"] = n2p(w[g + f"MlpBlock_3/Dense_{r}/bias"])
        i += 1
    return sd


def case_npz(out_dir, name, dims, seed):
    c = Case(out_dir, name)
    model = torchvision_model(dims, seed)
    x = make_input(2, 224, seed + 1)
    y = model(x)
    w = torchvision_to_npz(model.state_dict(), dims["num_heads"])
    # Self-check: timm's reading of this npz, run by the timm-semantics forward, is the torchvision
    # model (checks the npz writer and timm_forward at once).
    sd = npz_as_timm(w)
    check = maxdiff(timm_forward(sd, x, dims["num_heads"]), y)
    assert check < 1e-4, f"{name}: npz self-check failed: {check}"
    y64 = timm_forward(to64(sd), x.double(), dims["num_heads"])
    np.savez(os.path.join(c.dir, "model.npz"), **w)
    c.add_run("224", x, y, y64, self_check=check)
    c.finish(models={"google npz": "model.npz"}, heads=dims["num_heads"], embed_dim=dims["hidden_dim"], depth=2)


HF_CONFIG = {
    "architectures": ["ViTForImageClassification"], "model_type": "vit", "hidden_size": 192,
    "num_hidden_layers": 2, "num_attention_heads": 6, "intermediate_size": 768, "hidden_act": "gelu",
    "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "initializer_range": 0.02,
    "layer_norm_eps": 1e-12, "image_size": 224, "patch_size": 16, "num_channels": 3, "qkv_bias": True,
    "encoder_stride": 16, "torch_dtype": "float32",
}
HF_LABELS = ["cat", "dog", "tench", "goldfish", "great white shark", "tiger shark", "hammerhead",
             "electric ray", "stingray", "cock"]


def case_hf(out_dir, name, seed):
    c = Case(out_dir, name)
    cfg = dict(HF_CONFIG)
    cfg["id2label"] = {str(i): l for i, l in enumerate(HF_LABELS)}
    cfg["label2id"] = {l: i for i, l in enumerate(HF_LABELS)}
    D, L, H, M, P = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["intermediate_size"], 16
    K = len(HF_LABELS)
    shapes = {"vit.embeddings.cls_token": (1, 1, D), "vit.embeddings.position_embeddings": (1, 1 + (224 // P) ** 2, D),
              "vit.embeddings.patch_embeddings.projection.weight": (D, 3, P, P),
              "vit.embeddings.patch_embeddings.projection.bias": (D,)}
    for i in range(L):
        l = f"vit.encoder.layer.{i}."
        for nm in ("query", "key", "value"):
            shapes[f"{l}attention.attention.{nm}.weight"] = (D, D)
            shapes[f"{l}attention.attention.{nm}.bias"] = (D,)
        shapes.update({l + "attention.output.dense.weight": (D, D), l + "attention.output.dense.bias": (D,),
                       l + "intermediate.dense.weight": (M, D), l + "intermediate.dense.bias": (M,),
                       l + "output.dense.weight": (D, M), l + "output.dense.bias": (D,),
                       l + "layernorm_before.weight": (D,), l + "layernorm_before.bias": (D,),
                       l + "layernorm_after.weight": (D,), l + "layernorm_after.bias": (D,)})
    shapes.update({"vit.layernorm.weight": (D,), "vit.layernorm.bias": (D,), "classifier.weight": (K, D),
                   "classifier.bias": (K,)})
    sd = random_state(shapes, seed)
    x = make_input(2, 224, seed + 1)
    y = hf_forward(sd, x, cfg)
    y64 = hf_forward(to64(sd), x.double(), cfg)
    # Self-check: the same weights in timm layout through the timm-semantics forward.
    t = {"cls_token": sd["vit.embeddings.cls_token"], "pos_embed": sd["vit.embeddings.position_embeddings"],
         "patch_embed.proj.weight": sd["vit.embeddings.patch_embeddings.projection.weight"],
         "patch_embed.proj.bias": sd["vit.embeddings.patch_embeddings.projection.bias"],
         "norm.weight": sd["vit.layernorm.weight"], "norm.bias": sd["vit.layernorm.bias"],
         "head.weight": sd["classifier.weight"], "head.bias": sd["classifier.bias"]}
    for i in range(L):
        l, b = f"vit.encoder.layer.{i}.", f"blocks.{i}."
        a = l + "attention.attention."
        t[b + "attn.qkv.weight"] = torch.cat([sd[a + n + ".weight"] for n in ("query", "key", "value")])
        t[b + "attn.qkv.bias"] = torch.cat([sd[a + n + ".bias"] for n in ("query", "key", "value")])
        for src, dst in (("layernorm_before", "norm1"), ("layernorm_after", "norm2"), ("attention.output.dense", "attn.proj"),
                         ("intermediate.dense", "mlp.fc1"), ("output.dense", "mlp.fc2")):
            t[b + dst + ".weight"] = sd[l + src + ".weight"]
            t[b + dst + ".bias"] = sd[l + src + ".bias"]
    check = maxdiff(timm_forward(t, x, H, eps=1e-12), y)
    assert check < 1e-4, f"{name}: transformers/timm self-check failed: {check}"
    with open(os.path.join(c.dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(c.dir, "preprocessor_config.json"), "w") as f:
        json.dump({"do_resize": True, "size": {"height": 224, "width": 224}, "resample": 2, "do_rescale": True,
                   "rescale_factor": 0.00392156862745098, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5],
                   "image_std": [0.5, 0.5, 0.5], "image_processor_type": "ViTImageProcessor"}, f, indent=2)
    write_safetensors(os.path.join(c.dir, "model.safetensors"), sd, {"format": "pt"})
    c.add_run("224", x, y, y64, self_check=check)
    c.finish(models={"transformers": "."}, labels=HF_LABELS, heads=H, embed_dim=D, depth=L)


def timm_shapes(D, depth, mlp, P, grid, classes, cls=True, reg=0, no_embed_class=False, layer_scale=False,
                fc_norm=False):
    s = {}
    if cls:
        s["cls_token"] = (1, 1, D)
    if reg:
        s["reg_token"] = (1, reg, D)
    s["pos_embed"] = (1, grid * grid + (0 if no_embed_class else int(cls) + reg), D)
    s["patch_embed.proj.weight"] = (D, 3, P, P)
    s["patch_embed.proj.bias"] = (D,)
    for i in range(depth):
        b = f"blocks.{i}."
        s.update({b + "norm1.weight": (D,), b + "norm1.bias": (D,), b + "attn.qkv.weight": (3 * D, D),
                  b + "attn.qkv.bias": (3 * D,), b + "attn.proj.weight": (D, D), b + "attn.proj.bias": (D,)})
        if layer_scale:
            s[b + "ls1.gamma"] = (D,)
        s.update({b + "norm2.weight": (D,), b + "norm2.bias": (D,), b + "mlp.fc1.weight": (mlp, D),
                  b + "mlp.fc1.bias": (mlp,), b + "mlp.fc2.weight": (D, mlp), b + "mlp.fc2.bias": (D,)})
        if layer_scale:
            s[b + "ls2.gamma"] = (D,)
    norm = "fc_norm" if fc_norm else "norm"
    s[norm + ".weight"] = (D,)
    s[norm + ".bias"] = (D,)
    s["head.weight"] = (classes, D)
    s["head.bias"] = (classes,)
    return s


def timm_case(out_dir, name, sd, arch, kwargs, sizes, seed, dtype=None, **fwd):
    c = Case(out_dir, name)
    stored = {k: v.to(dtype) for k, v in sd.items()} if dtype is not None else sd
    ref_sd = {k: v.float() for k, v in stored.items()}  # the stored values, upcast
    write_safetensors(os.path.join(c.dir, "model.safetensors"), stored,
                      {"model": arch, "create_model_kwargs": json.dumps(kwargs), "format": "pt"})
    for j, s in enumerate(sizes):
        x = make_input(2, s, seed + 1 + j)
        y = timm_forward(ref_sd, x, **fwd)
        y64 = timm_forward(to64(ref_sd), x.double(), **fwd)
        c.add_run(str(s), x, y, y64)
    c.finish(models={"timm": "model.safetensors"}, arch=arch,
             storage_dtype={None: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}[dtype])


def tiny_state(seed):
    return random_state(timm_shapes(192, 2, 768, 16, 14, 1000), seed)


CASES = {
    "tv_b16": lambda o: case_torchvision(o, "tv_b16", 101, npz=True),
    "tv_b32": lambda o: case_torchvision(o, "tv_b32", 102),
    "tv_l16": lambda o: case_torchvision(o, "tv_l16", 103),
    "tv_legacy": lambda o: case_torchvision_legacy(o, "tv_legacy", 112),
    "npz_h32": lambda o: case_npz(o, "npz_h32", dict(patch_size=16, num_heads=8, hidden_dim=256, mlp_dim=512), 105),
    "hf_vit": lambda o: case_hf(o, "hf_vit", 106),
    "timm_res": lambda o: timm_case(o, "timm_res", tiny_state(107), "vit_tiny_patch16_224", {"depth": 2},
                                    [224, 384, 160], 107, heads=3),
    "deit3": lambda o: timm_case(o, "deit3", random_state(timm_shapes(384, 2, 1536, 16, 14, 1000, no_embed_class=True,
                                                                      layer_scale=True), 108),
                                 "deit3_small_patch16_224", {"depth": 2}, [224, 288], 108, heads=6, no_embed_class=True),
    "reg4": lambda o: timm_case(o, "reg4", random_state(timm_shapes(512, 1, 2048, 16, 16, 1000, cls=False, reg=4,
                                                                    no_embed_class=True, layer_scale=True, fc_norm=True), 109),
                                "vit_medium_patch16_reg4_gap_256", {"depth": 1}, [256, 224], 109, heads=8,
                                no_embed_class=True, global_pool="avg"),
    "timm_f16": lambda o: timm_case(o, "timm_f16", tiny_state(107), "vit_tiny_patch16_224", {"depth": 2}, [224], 110,
                                    dtype=torch.float16, heads=3),
    "timm_bf16": lambda o: timm_case(o, "timm_bf16", tiny_state(107), "vit_tiny_patch16_224", {"depth": 2}, [224], 111,
                                     dtype=torch.bfloat16, heads=3),
}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, names = sys.argv[1], sys.argv[2:]
    if names == ["all"]:
        names = list(CASES)
    for n in names:
        if n not in CASES:
            sys.exit(f"unknown case '{n}' (known: {', '.join(CASES)})")
    torch.set_grad_enabled(False)
    for n in names:
        CASES[n](out)


if __name__ == "__main__":
    main()
