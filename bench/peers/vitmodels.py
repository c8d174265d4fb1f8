"""Shared by the peer benchmark scripts: model specs, FLOP count, a tiny safetensors reader/writer,
and the seeded random-weight torchvision VisionTransformer every engine runs.

Only the standard library and numpy at import time; torch/torchvision are imported lazily so the
orchestrator (compare.py) can use SPECS and gflop_per_image without them.
"""
import json
import struct

import numpy as np

# name -> (hidden D, heads, mlp H, depth). All patch 16, image 224, 1000 classes.
SPECS = {
    "ViT-Ti/16": dict(hidden=192, heads=3, mlp=768, depth=12, timm="vit_tiny_patch16_224"),
    "ViT-S/16": dict(hidden=384, heads=6, mlp=1536, depth=12, timm="vit_small_patch16_224"),
    "ViT-B/16": dict(hidden=768, heads=12, mlp=3072, depth=12, timm="vit_base_patch16_224"),
    "ViT-L/16": dict(hidden=1024, heads=16, mlp=4096, depth=24, timm="vit_large_patch16_224"),
}
IMAGE, PATCH, CHANNELS, CLASSES = 224, 16, 3, 1000
# Bump when the weights or the export change: cached models with another stamp are rebuilt.
GENERATOR_VERSION = 1


def file_stem(name):
    """vitrt resolves heads/eps/preprocessing from the timm name (file name and metadata)."""
    return SPECS[name]["timm"]


def gflop_per_image(name):
    """Counted as vitrt does: patch conv + per layer (qkv, proj, fc1, fc2 GEMMs + QK^T and AV) + head."""
    s = SPECS[name]
    d, h, depth = s["hidden"], s["mlp"], s["depth"]
    n = (IMAGE // PATCH) ** 2
    t = n + 1
    conv = 2 * n * d * CHANNELS * PATCH * PATCH
    layer = 2 * t * (4 * d * d + 2 * d * h) + 4 * t * t * d
    head = 2 * d * CLASSES
    return (conv + depth * layer + head) / 1e9


def save_safetensors(path, tensors, metadata):
    """tensors: name -> numpy array (written as little-endian F32). Header: u64 LE length, JSON."""
    header, offset, arrays = {"__metadata__": metadata}, 0, []
    for k, a in tensors.items():
        a = np.ascontiguousarray(a, dtype="<f4")
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        arrays.append(a)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for a in arrays:
            f.write(a.tobytes())


def load_safetensors(path):
    """name -> numpy f32 array (copies), metadata."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for k, v in header.items():
        if v["dtype"] != "F32":
            raise ValueError(f"{path}: {k} has dtype {v['dtype']}, this reader handles F32 only")
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(data[b:e], dtype="<f4").reshape(v["shape"]).copy()
    return out, meta


def build_torchvision(name):
    """An uninitialised torchvision VisionTransformer with the spec's dimensions."""
    from torchvision.models.vision_transformer import VisionTransformer

    s = SPECS[name]
    return VisionTransformer(image_size=IMAGE, patch_size=PATCH, num_layers=s["depth"], num_heads=s["heads"],
                             hidden_dim=s["hidden"], mlp_dim=s["mlp"], num_classes=CLASSES)


def randomize(model, seed):
    """Seeded weights with O(1) activations: matrices N(0, 1/fan_in), biases 0.2 N, LayerNorm scale
    1 + 0.2 N, class token 0.2 N, position embedding 0.5 N. (torchvision's own init zeroes the head,
    which would make every logit 0 and the output check meaningless.)"""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if k == "class_token":
                p.copy_(0.2 * r)
            elif k == "encoder.pos_embedding":
                p.copy_(0.5 * r)
            elif p.dim() >= 2:
                fan_in = int(np.prod(p.shape[1:]))
                p.copy_(r / fan_in ** 0.5)
            elif k.endswith(".weight"):  # LayerNorm scales
                p.copy_(1.0 + 0.2 * r)
            else:  # biases (LayerNorm, linear, in_proj)
                p.copy_(0.2 * r)
    return model


def load_torchvision(name, safetensors_path):
    """The model the benchmark files hold, as an eval-mode torchvision module (f32)."""
    import torch

    model = build_torchvision(name)
    tensors, _ = load_safetensors(safetensors_path)
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    model.load_state_dict(state, strict=True)
    return model.eval()


def timm_to_torchvision(tensors):
    """timm ViT state dict (numpy) -> torchvision VisionTransformer names (the real ViT-Ti/16 in
    ../shared/data has timm names; the harness runs torchvision modules)."""
    out = {}
    for k, v in tensors.items():
        p = k.split(".")
        if k == "cls_token":
            n = "class_token"
        elif k == "pos_embed":
            n = "encoder.pos_embedding"
        elif p[0] == "patch_embed":
            n = "conv_proj." + p[-1]
        elif p[0] == "norm":
            n = "encoder.ln." + p[-1]
        elif p[0] == "head":
            n = "heads.head." + p[-1]
        elif p[0] == "blocks":
            sub = {"norm1": "ln_1", "norm2": "ln_2", "attn.proj": "self_attention.out_proj",
                   "mlp.fc1": "mlp.0", "mlp.fc2": "mlp.3"}
            mid = ".".join(p[2:-1])
            pre = f"encoder.layers.encoder_layer_{p[1]}."
            if mid == "attn.qkv":
                n = pre + "self_attention.in_proj_" + p[-1]
            elif mid in sub:
                n = pre + sub[mid] + "." + p[-1]
            else:
                raise KeyError(f"timm key {k} has no torchvision counterpart")
        else:
            raise KeyError(f"timm key {k} has no torchvision counterpart")
        out[n] = v
    return out


def load_timm_vit_as_torchvision(path, name="ViT-Ti/16"):
    """A timm-named ViT safetensors file (e.g. the real ViT-Ti/16) as an eval torchvision module."""
    import torch

    model = build_torchvision(name)
    tensors, _ = load_safetensors(path)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in timm_to_torchvision(tensors).items()}, strict=True)
    return model.eval()


def linear_attention(model):
    """Replaces every torchvision nn.MultiheadAttention by the same attention written with two
    nn.Linear modules (qkv, proj), as timm writes it, so quantize_dynamic({nn.Linear}) reaches all
    four GEMMs of a block: torchvision's MHA keeps in_proj as a bare parameter and its out_proj is a
    NonDynamicallyQuantizableLinear, so quantize_dynamic on the stock module only quantizes the MLP
    and the head. Same numbers in f32 (checked by int8_check.py)."""
    import torch
    from torch import nn

    class Attention(nn.Module):
        def __init__(self, mha):
            super().__init__()
            d = mha.embed_dim
            self.heads = mha.num_heads
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            with torch.no_grad():
                self.qkv.weight.copy_(mha.in_proj_weight)
                self.qkv.bias.copy_(mha.in_proj_bias)
                self.proj.weight.copy_(mha.out_proj.weight)
                self.proj.bias.copy_(mha.out_proj.bias)

        def forward(self, query, key=None, value=None, need_weights=False):
            b, t, d = query.shape
            h = self.heads
            q, k, v = self.qkv(query).reshape(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
            a = ((q * (d // h) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
            return self.proj((a @ v).transpose(1, 2).reshape(b, t, d)), None

    for layer in model.encoder.layers:
        layer.self_attention = Attention(layer.self_attention)
    return model


def quantize_dynamic_int8(model, all_linears=True, engine="onednn"):
    """PyTorch dynamic int8 (torch.ao.quantization.quantize_dynamic, {nn.Linear}, qint8): weights s8
    per tensor, activations u8 per tensor quantized at run time. all_linears: first rewrite the
    attention with nn.Linear (linear_attention), else only the MLP and the head are quantized.
    engine: Debian's torch 1.13 is built without FBGEMM ('onednn' and 'qnnpack' only); 'onednn' is
    its x86 int8 backend (VNNI where the CPU has it)."""
    import torch
    from torch import nn

    if engine not in torch.backends.quantized.supported_engines:
        raise RuntimeError(f"quantized engine {engine!r} not in this torch build "
                           f"({torch.backends.quantized.supported_engines})")
    torch.backends.quantized.engine = engine
    if all_linears:
        model = linear_attention(model)
    return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8).eval()
