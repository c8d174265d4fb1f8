#!/usr/bin/python3
"""Dynamic int8 ONNX, written the way onnxruntime.quantization.quantize_dynamic writes it (that
package is not installable here: no PyPI; this uses Debian's python3-onnx only).

Usage: /usr/bin/python3 bench/peers/onnx_int8.py IN.onnx OUT.onnx [--per-channel] [--matmul-only]

Every Linear layer -- a MatMul whose second input is a 2-D f32 initializer [K, N], and (unless
--matmul-only) a Gemm with an initializer B (transB 0 or 1, alpha = beta = 1) -- becomes

    x --DynamicQuantizeLinear--> x_q (u8), x_scale, x_zero_point     (per tensor, at run time)
    MatMulInteger(x_q, W_q (s8 [K, N]), x_zero_point, W_zero_point)   -> int32
    Cast(float) * (x_scale * W_scale)                                 (+ bias for a Gemm)

which is quantize_dynamic's output for MatMul (its IntegerOps registry: u8 activations, s8
weights, symmetric, reduce_range off), and which ONNX Runtime's graph optimiser fuses into its
DynamicQuantizeMatMul / MatMulIntegerToFloat kernels (u8 x s8, VNNI on AVX-512 CPUs).
Weights: symmetric, scale = max|W| / 127, zero point 0; per tensor (quantize_dynamic's default) or
per output column (--per-channel, its per_channel=True). quantize_dynamic leaves Gemm in f32
(Gemm is not in its dynamic-op registry): torch.onnx exports torchvision's attention output
projection and the classifier head as Gemm, so by default they are quantized here too, so that all
Linear layers are int8 as in the PyTorch peer (--matmul-only gives quantize_dynamic's exact
coverage). Attention's activation x activation MatMuls (QK^T, AV), the patch-embedding Conv,
LayerNorm and softmax stay f32.
"""
import argparse
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize_weight(w, per_channel):
    """w [K, N] f32 -> (s8 [K, N], scale (scalar or [N]) f32, zero point (scalar or [N]) s8)."""
    absmax = np.abs(w).max(axis=0) if per_channel else np.abs(w).max()
    scale = np.maximum(absmax, 1e-12).astype(np.float32) / np.float32(127)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    zp = np.zeros_like(scale, dtype=np.int8)
    return q, np.asarray(scale, np.float32), np.asarray(zp, np.int8)


def convert(model, per_channel=False, matmul_only=False):
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    uses = {}
    for n in g.node:
        for x in n.input:
            uses[x] = uses.get(x, 0) + 1
    new_nodes, new_inits, dropped, count = [], [], set(), {"MatMul": 0, "Gemm": 0}
    for n in g.node:
        w_name = n.input[1] if len(n.input) > 1 else None
        w_init = inits.get(w_name)
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        linear = (n.op_type == "MatMul" and w_init is not None and len(w_init.dims) == 2 and
                  w_init.data_type == TensorProto.FLOAT)
        gemm = (not matmul_only and n.op_type == "Gemm" and w_init is not None and len(w_init.dims) == 2 and
                w_init.data_type == TensorProto.FLOAT and attrs.get("transA", 0) == 0 and
                attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0 and
                (len(n.input) < 3 or n.input[2] in inits))
        if not (linear or gemm):
            new_nodes.append(n)
            continue
        w = numpy_helper.to_array(w_init).astype(np.float32)
        if gemm and attrs.get("transB", 0):
            w = w.T
        q, scale, zp = quantize_weight(np.ascontiguousarray(w), per_channel)
        base = n.output[0]
        x = n.input[0]
        names = {k: f"{base}_{k}" for k in ("x_q", "x_scale", "x_zp", "w_q", "w_scale", "w_zp", "int32", "f32",
                                            "scale", "y")}
        new_inits += [numpy_helper.from_array(q, names["w_q"]), numpy_helper.from_array(scale, names["w_scale"]),
                      numpy_helper.from_array(zp, names["w_zp"])]
        y = base if not (gemm and len(n.input) > 2) else names["y"]
        new_nodes += [
            helper.make_node("DynamicQuantizeLinear", [x], [names["x_q"], names["x_scale"], names["x_zp"]],
                             name=f"{n.name}_quant"),
            helper.make_node("MatMulInteger", [names["x_q"], names["w_q"], names["x_zp"], names["w_zp"]],
                             [names["int32"]], name=f"{n.name}_MatMulInteger"),
            helper.make_node("Cast", [names["int32"]], [names["f32"]], to=TensorProto.FLOAT, name=f"{n.name}_cast"),
            helper.make_node("Mul", [names["x_scale"], names["w_scale"]], [names["scale"]], name=f"{n.name}_scales_mul"),
            helper.make_node("Mul", [names["f32"], names["scale"]], [y], name=f"{n.name}_output_scale_mul"),
        ]
        if y != base:
            new_nodes.append(helper.make_node("Add", [y, n.input[2]], [base], name=f"{n.name}_bias_add"))
        count["Gemm" if gemm else "MatMul"] += 1
        uses[w_name] -= 1
        if uses[w_name] == 0:
            dropped.add(w_name)
    del g.node[:]
    g.node.extend(new_nodes)
    kept = [i for i in g.initializer if i.name not in dropped]
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    # DynamicQuantizeLinear / MatMulInteger: opset >= 11 (the harness exports opset 17).
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx") and o.version < 11:
            o.version = 11
    return count


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--per-channel", action="store_true", help="one weight scale per output column")
    p.add_argument("--matmul-only", action="store_true", help="leave Gemm in f32, as quantize_dynamic does")
    a = p.parse_args()
    model = onnx.load(a.src)
    count = convert(model, a.per_channel, a.matmul_only)
    if not sum(count.values()):
        sys.exit(f"{a.src}: no MatMul/Gemm with an f32 weight initializer: nothing to quantize")
    onnx.checker.check_model(model)
    onnx.save(model, a.dst)
    print(f"{a.dst}: {count['MatMul']} MatMul + {count['Gemm']} Gemm -> dynamic int8 "
          f"({'per-channel' if a.per_channel else 'per-tensor'} s8 weights, per-tensor u8 activations)")


if __name__ == "__main__":
    main()
