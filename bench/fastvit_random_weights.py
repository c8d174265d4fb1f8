#!/usr/bin/python3
"""Writes a full-size FastViT checkpoint with random weights and timm's key names, for benchmarks.

  /usr/bin/python3 bench/fastvit_random_weights.py --model fastvit_sa12 --form unfused \
      --out /tmp/fastvit_sa12.safetensors

--form unfused: the train-time state dict (MobileOne branches, BatchNorms; vitrt reparameterizes
                it at load), as timm.create_model(name) has it;
--form reparam: timm's inference_mode=True key set (reparam_conv + the BatchNorms timm leaves).
Latency does not depend on the form: vitrt runs the same folded network for both.

Needs only numpy (Debian python3-numpy); the architecture table restates timm's registry
(timm/models/fastvit.py). Weights: conv/linear std 1/sqrt(fan_in), biases and BN shifts N(0, 0.1^2),
BN scales ~1, running_var in [0.5, 1.5]: activations stay O(1), so timings see no denormals.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from vitmodels import save_safetensors  # noqa: E402  (one safetensors writer for all bench scripts)

VARIANTS = {  # layers, embed dims, mlp ratio, attention (RepCPE + MHSA) in the last stage
    "fastvit_t8": ((2, 2, 4, 2), (48, 96, 192, 384), 3, False),
    "fastvit_t12": ((2, 2, 6, 2), (64, 128, 256, 512), 3, False),
    "fastvit_s12": ((2, 2, 6, 2), (64, 128, 256, 512), 4, False),
    "fastvit_sa12": ((2, 2, 6, 2), (64, 128, 256, 512), 4, True),
    "fastvit_sa24": ((4, 4, 12, 4), (64, 128, 256, 512), 4, True),
    "fastvit_sa36": ((6, 6, 18, 6), (64, 128, 256, 512), 4, True),
    "fastvit_ma36": ((6, 6, 18, 6), (76, 152, 304, 608), 4, True),
}


class StateDict:
    def __init__(self, reparam, seed):
        self.t = {}
        self.reparam = reparam
        self.rng = np.random.default_rng(seed)

    def randn(self, name, shape, std, mean=0.0):
        self.t[name] = (mean + std * self.rng.standard_normal(shape)).astype(np.float32)

    def conv(self, p, o, ig, k, bias):
        self.randn(p + ".weight", (o, ig, k, k), 1.0 / np.sqrt(ig * k * k))
        if bias:
            self.randn(p + ".bias", (o,), 0.1)

    def bn(self, p, c):
        self.randn(p + ".weight", (c,), 0.1, 1.0)
        self.randn(p + ".bias", (c,), 0.1)
        self.randn(p + ".running_mean", (c,), 0.1)
        self.t[p + ".running_var"] = self.rng.uniform(0.5, 1.5, (c,)).astype(np.float32)

    def conv_bn(self, p, o, ig, k):
        self.conv(p + ".conv", o, ig, k, False)
        self.bn(p + ".bn", o)

    def mobileone(self, p, cin, cout, k, stride, groups):
        if self.reparam:
            return self.conv(p + ".reparam_conv", cout, cin // groups, k, True)
        self.conv_bn(p + ".conv_kxk.0", cout, cin // groups, k)
        if k > 1:
            self.conv_bn(p + ".conv_scale", cout, cin // groups, 1)
        if cin == cout and stride == 1:
            self.bn(p + ".identity", cin)


def build(name, reparam, seed):
    layers, dims, mlp, attn_last = VARIANTS[name]
    sd = StateDict(reparam, seed)
    c0 = dims[0]
    sd.mobileone("stem.0", 3, c0, 3, 2, 1)
    sd.mobileone("stem.1", c0, c0, 3, 2, c0)
    sd.mobileone("stem.2", c0, c0, 1, 1, 1)
    for i in range(4):
        d, hidden, p = dims[i], dims[i] * mlp, f"stages.{i}."
        attn = attn_last and i == 3
        if i > 0:
            if reparam:
                sd.conv(p + "downsample.proj.0.reparam_conv", d, 1, 7, True)
            else:
                sd.conv_bn(p + "downsample.proj.0.large_conv", d, 1, 7)
                sd.conv_bn(p + "downsample.proj.0.small_conv", d, 1, 3)
            sd.mobileone(p + "downsample.proj.1", d, d, 1, 1, 1)
        if attn:
            sd.conv(p + ("pos_emb.reparam_conv" if reparam else "pos_emb.pos_enc"), d, 1, 7, True)
        for j in range(layers[i]):
            b = f"{p}blocks.{j}."
            if attn:
                sd.bn(b + "norm", d)
                sd.randn(b + "token_mixer.qkv.weight", (3 * d, d), 1.0 / np.sqrt(d))
                sd.randn(b + "token_mixer.proj.weight", (d, d), 1.0 / np.sqrt(d))
                sd.randn(b + "token_mixer.proj.bias", (d,), 0.1)
                sd.randn(b + "layer_scale_1.gamma", (d, 1, 1), 0.1)
                sd.randn(b + "layer_scale_2.gamma", (d, 1, 1), 0.1)
            else:
                if reparam:
                    sd.conv(b + "token_mixer.reparam_conv", d, 1, 3, True)
                else:
                    sd.bn(b + "token_mixer.norm.identity", d)
                    sd.mobileone(b + "token_mixer.mixer", d, d, 3, 1, d)
                    sd.randn(b + "token_mixer.layer_scale.gamma", (d, 1, 1), 0.1)
                sd.randn(b + "layer_scale.gamma", (d, 1, 1), 0.1)
            sd.conv_bn(b + "mlp.conv", d, 1, 7)
            sd.conv(b + "mlp.fc1", hidden, d, 1, True)
            sd.conv(b + "mlp.fc2", d, hidden, 1, True)
    f = 2 * dims[3]
    sd.mobileone("final_conv", dims[3], f, 3, 1, dims[3])
    sd.conv("final_conv.se.fc1", f // 16, f, 1, True)
    sd.conv("final_conv.se.fc2", f, f // 16, 1, True)
    sd.randn("head.fc.weight", (1000, f), 1.0 / np.sqrt(f))
    sd.randn("head.fc.bias", (1000,), 0.1)
    return sd.t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(VARIANTS))
    ap.add_argument("--form", choices=("unfused", "reparam"), default="unfused")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    t = build(a.model, a.form == "reparam", a.seed)
    meta = {"model": a.model, "producer": "vitrt bench/fastvit_random_weights.py", "form": a.form}
    save_safetensors(a.out, t, meta)
    print(f"{a.out}: {a.model} ({a.form}), {len(t)} tensors, {sum(v.size for v in t.values()) / 1e6:.2f} M values")


if __name__ == "__main__":
    main()
