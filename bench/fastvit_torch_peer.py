#!/usr/bin/python3
"""PyTorch peer for FastViT: the reparameterized (timm inference_mode) network written with
torch.nn.functional (timm is not installed here), timed the way `vitrt bench` times.

  /usr/bin/python3 bench/fastvit_torch_peer.py --weights M_reparam.safetensors --batch 1,8 --threads 2
  /usr/bin/python3 bench/fastvit_torch_peer.py --check ../shared/data/reference/fastvit_t8

--export-onnx OUT writes the same network as ONNX for the ONNX Runtime peer (bench/fastvit.sh).
--check runs DIR/model_reparam.safetensors on DIR/input.bin and prints max |logits - logits.bin|
(the peer must be a correct FastViT before its time means anything). Variants: eager NCHW (what
timm runs), eager channels_last, and torch.jit.trace + freeze of the channels_last one.
Semantics: shared/data/reference/README.md "Forward semantics" (timm/models/fastvit.py, eval).
"""
import argparse
import json
import statistics
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__" or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).copy())
    return out


class FastVitReparam(torch.nn.Module):
    def __init__(self, t):
        super().__init__()
        self.t = t
        self.geom = {}
        self.stages = []
        i = 0
        while any(k.startswith(f"stages.{i}.") for k in t):
            depth = 0
            while any(k.startswith(f"stages.{i}.blocks.{depth}.") for k in t):
                depth += 1
            self.stages.append(depth)
            i += 1

    def conv(self, x, p, stride=1):
        w = self.t[p + ".weight"]
        if p not in self.geom:  # python ints, recorded on the first (eager) call, so tracing sees constants
            self.geom[p] = (int(w.shape[-1]) // 2, int(x.shape[1]) // int(w.shape[1]))
        pad, groups = self.geom[p]
        return F.conv2d(x, w, self.t.get(p + ".bias"), stride, pad, 1, groups)

    def bn(self, x, p):
        t = self.t
        return F.batch_norm(x, t[p + ".running_mean"], t[p + ".running_var"], t[p + ".weight"], t[p + ".bias"], False, 0.0, 1e-5)

    def mlp(self, x, b):
        x = self.bn(self.conv(x, b + "mlp.conv.conv"), b + "mlp.conv.bn")
        return self.conv(F.gelu(self.conv(x, b + "mlp.fc1")), b + "mlp.fc2")

    def forward(self, x):
        t = self.t
        x = F.gelu(self.conv(x, "stem.0.reparam_conv", 2))
        x = F.gelu(self.conv(x, "stem.1.reparam_conv", 2))
        x = F.gelu(self.conv(x, "stem.2.reparam_conv"))
        for i, depth in enumerate(self.stages):
            p = f"stages.{i}."
            if p + "downsample.proj.0.reparam_conv.weight" in t:
                x = self.conv(x, p + "downsample.proj.0.reparam_conv", 2)
                x = F.gelu(self.conv(x, p + "downsample.proj.1.reparam_conv"))
            if p + "pos_emb.reparam_conv.weight" in t:
                x = self.conv(x, p + "pos_emb.reparam_conv")
            for j in range(depth):
                b = f"{p}blocks.{j}."
                if b + "token_mixer.qkv.weight" in t:
                    B, C, H, W = x.shape
                    h = self.bn(x, b + "norm").flatten(2).transpose(1, 2)
                    qkv = F.linear(h, t[b + "token_mixer.qkv.weight"]).reshape(B, H * W, 3, C // 32, 32).permute(2, 0, 3, 1, 4)
                    q, k, v = qkv.unbind(0)
                    a = torch.softmax((q * 32 ** -0.5) @ k.transpose(-2, -1), dim=-1) @ v
                    a = F.linear(a.transpose(1, 2).reshape(B, H * W, C), t[b + "token_mixer.proj.weight"], t[b + "token_mixer.proj.bias"])
                    x = x + t[b + "layer_scale_1.gamma"] * a.transpose(1, 2).reshape(B, C, H, W)
                    x = x + t[b + "layer_scale_2.gamma"] * self.mlp(x, b)
                else:
                    x = self.conv(x, b + "token_mixer.reparam_conv")
                    x = x + t[b + "layer_scale.gamma"] * self.mlp(x, b)
        y = self.conv(x, "final_conv.reparam_conv")
        s = torch.sigmoid(self.conv(F.relu(self.conv(y.mean((2, 3), keepdim=True), "final_conv.se.fc1")), "final_conv.se.fc2"))
        y = F.gelu(y * s)
        return F.linear(y.mean((2, 3)), t["head.fc.weight"], t["head.fc.bias"])


def timed(fn, x, warmup, runs):
    for _ in range(warmup):
        fn(x)
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(x)
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms), min(ms), max(ms)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights")
    ap.add_argument("--check")
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--export-onnx", metavar="OUT", help="write the network as ONNX (opset 17, dynamic batch) and exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.check:
        m = FastVitReparam(load_safetensors(a.check + "/model_reparam.safetensors")).eval()
        x = torch.from_numpy(np.fromfile(a.check + "/input.bin", dtype="<f4").reshape(2, 3, 256, 256))
        ref = np.fromfile(a.check + "/logits.bin", dtype="<f4").reshape(2, -1)
        with torch.inference_mode():
            got = m(x).numpy()
        print(f"{a.check}: max |logits - logits.bin| = {np.abs(got - ref).max():.3g}")
        return
    m = FastVitReparam(load_safetensors(a.weights)).eval()
    if a.export_onnx:  # the ONNX Runtime peer (bench/fastvit.sh) runs the same network
        with torch.no_grad():
            torch.onnx.export(m, torch.randn(1, 3, 256, 256), a.export_onnx, opset_version=17, input_names=["x"],
                              output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
        print(f"wrote {a.export_onnx}")
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {a.weights}")
    print(f"{'variant':<22} {'batch':>5} {'median ms':>10} {'min ms':>8} {'images/s':>9}")
    for b in [int(v) for v in a.batch.split(",")]:
        x = torch.randn(b, 3, 256, 256)
        with torch.inference_mode():
            med, lo, _ = timed(m, x, a.warmup, a.runs)
            print(f"{'eager NCHW':<22} {b:>5} {med:>10.2f} {lo:>8.2f} {b / med * 1e3:>9.1f}")
            xc = x.contiguous(memory_format=torch.channels_last)
            med, lo, _ = timed(m, xc, a.warmup, a.runs)
            print(f"{'eager channels_last':<22} {b:>5} {med:>10.2f} {lo:>8.2f} {b / med * 1e3:>9.1f}")
        with torch.no_grad():
            j = torch.jit.freeze(torch.jit.trace(m, xc))
            med, lo, _ = timed(j, xc, a.warmup, a.runs)
            print(f"{'jit.freeze channels_l.':<22} {b:>5} {med:>10.2f} {lo:>8.2f} {b / med * 1e3:>9.1f}")


if __name__ == "__main__":
    main()
