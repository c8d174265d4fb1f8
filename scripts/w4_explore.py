#!/usr/bin/python3
"""How far better 4-bit weight rounding gets the real ViT-Ti/16 (docs/quantization.md, "w4").

Simulated in PyTorch (Debian python3-torch; no timm needed): the timm ViT-Ti/16 forward written
out below, every block's four linear weights replaced by their 4-bit reconstruction, f32 compute
(what vitrt's w4 computes). Rows:
  rtn       symmetric, scale = max|w| / 7 per group, round to nearest (vitrt's w4)
  mse       symmetric, the scale of the group picked among 100 clips (0.3..1 x max|w|) minimising
            the group's squared error
  asym      asymmetric u4 with a zero point per group, min/max range
  gptq      GPTQ (Frantar et al. 2022): columns quantized in order, each one's error spread over
            the columns not yet quantized through the inverse Hessian of the layer's inputs
            (128 calibration images from imagenet_calib's first half, damping 1 %); sym and asym
  float-K   rtn g32 with the K layers that move the logits most (each alone, 64 images) in f32
Evaluated like scripts/quant_accuracy.sh: top-1 agreement with the f32 model and mean logit
cosine on set117 and on imagenet_calib's second half (208; the first half feeds GPTQ).
Preprocessing: PIL + torchvision as timm evaluates this model (248 bicubic, crop 224, 0.5/0.5).

Usage: /usr/bin/python3 scripts/w4_explore.py [--shared DIR] [--threads N] [--only rtn,mse,...]
Takes about 30 minutes on 2 cores.
"""
import argparse
import csv
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "peers"))
from vitmodels import load_safetensors  # noqa: E402

BLOCKS, D, HEADS = 12, 192, 3
LINEARS = [f"blocks.{i}.{n}" for i in range(BLOCKS) for n in ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2")]


def images(shared, csv_path, prefixes=None):
    from PIL import Image
    from torchvision import transforms

    t = transforms.Compose([transforms.Resize(248, interpolation=transforms.InterpolationMode.BICUBIC),
                            transforms.CenterCrop(224), transforms.ToTensor(),
                            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    rows = [r for r in csv.DictReader(open(csv_path)) if int(r["class_index"]) >= 0 and
            (not prefixes or r["path"].split("/")[0] in prefixes)]
    return torch.stack([t(Image.open(os.path.join(shared, "images", r["path"])).convert("RGB")) for r in rows])


def forward(P, x, weights=None, observe=None):
    """timm VisionTransformer.forward for ViT-Ti/16; weights: name -> replacement linear weight."""
    weights = weights or {}

    def lin(name, h):
        if observe:
            observe(name, h)
        return F.linear(h, weights.get(name, P[name + ".weight"]), P[name + ".bias"])

    B = x.shape[0]
    t = F.conv2d(x, P["patch_embed.proj.weight"], P["patch_embed.proj.bias"], stride=16).flatten(2).transpose(1, 2)
    t = torch.cat([P["cls_token"].expand(B, -1, -1), t], 1) + P["pos_embed"]
    for i in range(BLOCKS):
        p = f"blocks.{i}."
        h = F.layer_norm(t, (D,), P[p + "norm1.weight"], P[p + "norm1.bias"], 1e-6)
        q, k, v = lin(p + "attn.qkv", h).reshape(B, -1, 3, HEADS, D // HEADS).permute(2, 0, 3, 1, 4)
        a = ((q * (D // HEADS) ** -0.5) @ k.transpose(-2, -1)).softmax(-1) @ v
        t = t + lin(p + "attn.proj", a.transpose(1, 2).reshape(B, -1, D))
        h = F.layer_norm(t, (D,), P[p + "norm2.weight"], P[p + "norm2.bias"], 1e-6)
        t = t + lin(p + "mlp.fc2", F.gelu(lin(p + "mlp.fc1", h)))
    t = F.layer_norm(t, (D,), P["norm.weight"], P["norm.bias"], 1e-6)
    return F.linear(t[:, 0], P["head.weight"], P["head.bias"])


def run(P, x, weights=None, observe=None, bs=32):
    with torch.inference_mode():
        return torch.cat([forward(P, x[i:i + bs], weights, observe) for i in range(0, len(x), bs)])


def grouped(w, g):
    N, K = w.shape
    pad = (-K) % g
    return torch.cat([w, w.new_zeros(N, pad)], 1).reshape(N, -1, g), K


def rtn(w, g, search=False):
    wg, K = grouped(w, g)
    amax = wg.abs().amax(-1, keepdim=True).clamp_min(1e-12)
    best, out = None, None
    for a in (torch.linspace(0.3, 1.0, 100) if search else [1.0]):
        s = amax * a / 7
        d = (wg / s).round().clamp(-7, 7) * s
        e = (d - wg).pow(2).sum(-1, keepdim=True)
        if best is None:
            best, out = e, d
        else:
            m = e < best
            best, out = torch.where(m, e, best), torch.where(m, d, out)
    return out.reshape(w.shape[0], -1)[:, :K]


def asym(w, g):
    wg, K = grouped(w, g)
    lo, hi = wg.amin(-1, keepdim=True).clamp_max(0), wg.amax(-1, keepdim=True).clamp_min(0)
    s = ((hi - lo) / 15).clamp_min(1e-12)
    z = (-lo / s).round()
    return (((wg / s).round() + z).clamp(0, 15) - z).mul(s).reshape(w.shape[0], -1)[:, :K]


def gptq(w, H, g, asymmetric, damp=0.01):
    W = w.double().clone()
    K = W.shape[1]
    H = H.clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H += damp * torch.diag(H).mean() * torch.eye(K, dtype=H.dtype)
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    Q = torch.zeros_like(W)
    for i in range(K):
        if i % g == 0:  # the group's grid, from the weights as updated so far
            grp = W[:, i:i + g]
            if asymmetric:
                lo, hi = grp.amin(1).clamp_max(0), grp.amax(1).clamp_min(0)
                s = ((hi - lo) / 15).clamp_min(1e-12)
                z = (-lo / s).round()
            else:
                s, z = grp.abs().amax(1).clamp_min(1e-12) / 7, None
        col = W[:, i]
        q = ((((col / s).round() + z).clamp(0, 15) - z) if asymmetric else (col / s).round().clamp(-7, 7)) * s
        Q[:, i] = q
        err = (col - q) / Hinv[i, i]
        W[:, i:] -= err[:, None] * Hinv[i, i:][None, :]
    return Q.float()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p.add_argument("--shared", default=os.environ.get("VITRT_SHARED_DATA", os.path.join(repo, "..", "shared", "data")))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--only", default="rtn,mse,asym,gptq,float", help="row families to run")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    only = set(a.only.split(","))
    t, _ = load_safetensors(os.path.join(a.shared, "models", "vit_tiny_patch16_224",
                                         "vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors"))
    P = {k: torch.from_numpy(v) for k, v in t.items()}
    x117 = images(a.shared, os.path.join(a.shared, "images", "labels.csv"),
                  ("imagenet_sample_1per10", "imagenet_selected"))
    xc = images(a.shared, os.path.join(a.shared, "images", "imagenet_calib", "labels.csv"))
    xa, xb = xc[0::2], xc[1::2]
    sets = [("set117", x117, run(P, x117)), ("calib_b", xb, run(P, xb))]

    def report(label, weights):
        cells = []
        for name, x, ref in sets:
            y = run(P, x, weights)
            agree = 100 * (y.argmax(1) == ref.argmax(1)).float().mean().item()
            cells.append(f"{agree:.2f} % | {F.cosine_similarity(y, ref, 1).mean().item():.5f}")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)

    print("| variant | set117 agreement | cosine | calib_b agreement | cosine |\n|---|---|---|---|---|")
    H = {}
    if "gptq" in only:
        def acc(name, h):
            h = h.reshape(-1, h.shape[-1]).double()
            H[name] = H.get(name, 0) + h.T @ h
        run(P, xa[:128], observe=acc)
    for g in (128, 64, 32):
        if "rtn" in only:
            report(f"rtn g{g}", {n: rtn(P[n + ".weight"], g) for n in LINEARS})
        if "mse" in only:
            report(f"mse g{g}", {n: rtn(P[n + ".weight"], g, search=True) for n in LINEARS})
        if "asym" in only:
            report(f"asym g{g}", {n: asym(P[n + ".weight"], g) for n in LINEARS})
        if "gptq" in only:
            for asymmetric in (False, True):
                report(f"gptq {'asym' if asymmetric else 'sym'} g{g}",
                       {n: gptq(P[n + ".weight"], H[n], g, asymmetric) for n in LINEARS})
    if "float" in only:
        wq = {n: rtn(P[n + ".weight"], 32) for n in LINEARS}
        ref = run(P, xa[:64])
        gap = {n: 1 - F.cosine_similarity(run(P, xa[:64], {n: wq[n]}), ref, 1).mean().item() for n in LINEARS}
        order = sorted(LINEARS, key=lambda n: -gap[n])
        for k in (4, 8, 16, 24):
            report(f"rtn g32, {k} most sensitive f32", {n: wq[n] for n in order[k:]})


if __name__ == "__main__":
    main()
