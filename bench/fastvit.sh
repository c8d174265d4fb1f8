#!/usr/bin/env bash
# FastViT on the CPU: vitrt vs a PyTorch peer (same reparameterized network, torch.nn.functional)
# and ONNX Runtime (that network exported to ONNX),
# alternating in R rounds, batch 1 and 8. Results and how to read them: bench/fastvit.md.
#
#   bench/fastvit.sh [ROUNDS]        (env: VITRT=build/vitrt, THREADS=2, VITRT_BENCH_DIR=/tmp/vitrt-bench-models,
#                                     INT8=1, WARMUP=2, RUNS=10)
#
# INT8=1 adds int8 rows for fastvit_t8: vitrt --precision w8a8-dynamic, w8, w4 (its linear layers
# and 1x1 convolutions quantized at load; static w8a8 files are ViT-only: `vitrt quantize` refuses
# FastViT) and ONNX Runtime int8 when peers/onnx_int8.py finds MatMul/Gemm weights to quantize
# (it leaves Conv in f32; fastvit_t8's export is Conv everywhere, its 1x1 ConvMlp layers included,
# plus a Gemm head whose weight is a Constant node, so it finds none and there is no such row).
# The PyTorch peer is written in torch.nn.functional, which quantize_dynamic cannot reach: no
# PyTorch int8 row either. The int8 rows are vitrt against vitrt f32 and the f32 peers.
# fastvit_t8: the timm fixture in ../shared/data/reference/fastvit_t8 (the exact registered
# architecture, random weights); fastvit_sa12: full size, random weights written by
# bench/fastvit_random_weights.py.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${1:-3}"
vitrt="${VITRT:-$repo/build/vitrt}"
threads="${THREADS:-2}"
work="${VITRT_BENCH_DIR:-/tmp/vitrt-bench-models}"
t8="$repo/../shared/data/reference/fastvit_t8"
# Every engine at its own idle-thread default (run on a quiet machine): vitrt's CLI spins briefly
# (GOMP_SPINCOUNT=10000) then sleeps, PyTorch's libgomp and ONNX Runtime spin longer.
mkdir -p "$work"
[ -f "$work/fastvit_sa12.safetensors" ] ||
  /usr/bin/python3 "$repo/bench/fastvit_random_weights.py" --model fastvit_sa12 --form unfused --out "$work/fastvit_sa12.safetensors"
[ -f "$work/fastvit_sa12_reparam.safetensors" ] ||
  /usr/bin/python3 "$repo/bench/fastvit_random_weights.py" --model fastvit_sa12 --form reparam --out "$work/fastvit_sa12_reparam.safetensors"
/usr/bin/python3 "$repo/bench/fastvit_torch_peer.py" --check "$t8"

# ONNX Runtime peer: the same reparameterized network exported from the PyTorch peer; its logits on
# the fixture's input must match timm's before its time counts.
ort="$repo/bench/peers/ort_bench.js"
[ -d "$repo/bench/peers/node_modules/onnxruntime-node" ] || (cd "$repo/bench/peers" && npm ci --ignore-scripts --no-audit --no-fund)
for m in t8 sa12; do
  onnx="$work/fastvit_$m.onnx"
  src="$t8/model_reparam.safetensors"; [ $m = sa12 ] && src="$work/fastvit_sa12_reparam.safetensors"
  [ -f "$onnx" ] || /usr/bin/python3 "$repo/bench/fastvit_torch_peer.py" --weights "$src" --export-onnx "$onnx"
done
node "$ort" --model "$work/fastvit_t8.onnx" --threads "$threads" --image-size 256 --check-input "$t8/input.bin" \
  --check-batch 2 --check-output "$work/fastvit_t8.ort_logits.f32" >/dev/null
/usr/bin/python3 -c "import numpy as np,sys; d=np.abs(np.fromfile(sys.argv[1],'<f4')-np.fromfile(sys.argv[2],'<f4')).max(); print(f'ONNX Runtime fastvit_t8: max |logits - logits.bin| = {d:.3g}'); sys.exit(int(d > 1e-3))" \
  "$work/fastvit_t8.ort_logits.f32" "$t8/logits.bin"
warmup="${WARMUP:-2}"
runs="${RUNS:-10}"
int8="${INT8:-0}"
ort_int8=0
if [ "$int8" = 1 ]; then
  if [ -f "$work/fastvit_t8.int8.onnx" ] && [ "$work/fastvit_t8.int8.onnx" -nt "$work/fastvit_t8.onnx" ]; then
    ort_int8=1
  elif /usr/bin/python3 "$repo/bench/peers/onnx_int8.py" "$work/fastvit_t8.onnx" "$work/fastvit_t8.int8.onnx"; then
    ort_int8=1
  else
    echo "ONNX Runtime int8 fastvit_t8: no row (onnx_int8.py found no MatMul/Gemm with a weight to quantize)"
  fi
fi
ort_time() {  # model batch -> "ONNX Runtime  batch B  median ms  min ms  images/s"
  node "$ort" --model "$1" --threads "$threads" --image-size 256 --batch "$2" --warmup "$warmup" --runs "$runs" |
    /usr/bin/python3 -c "import json,sys,statistics as s; j=json.load(sys.stdin); t=j['times_ms']; m=s.median(t); print(f'ONNX Runtime {j[\"onnxruntime\"]}   batch {j[\"batch\"]}  median {m:.2f} ms  min {min(t):.2f} ms  {j[\"batch\"]/m*1e3:.1f} images/s')"
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  echo "== round $r"
  "$vitrt" bench --model "$t8/model.safetensors" --batch 1,8 --threads "$threads"
  /usr/bin/python3 "$repo/bench/fastvit_torch_peer.py" --weights "$t8/model_reparam.safetensors" --batch 1,8 --threads "$threads"
  for b in 1 8; do ort_time "$work/fastvit_t8.onnx" $b; done
  if [ "$int8" = 1 ]; then
    for p in w8a8-dynamic w8 w4; do
      echo "vitrt fastvit_t8 --precision $p"
      "$vitrt" bench --model "$t8/model.safetensors" --precision "$p" --batch 1,8 --warmup "$warmup" --runs "$runs" \
        --threads "$threads"
    done
    if [ "$ort_int8" = 1 ]; then
      echo "ONNX Runtime int8 (onnx_int8.py):"
      for b in 1 8; do ort_time "$work/fastvit_t8.int8.onnx" $b; done
    fi
  fi
  "$vitrt" bench --model "$work/fastvit_sa12.safetensors" --batch 1,8 --threads "$threads"
  /usr/bin/python3 "$repo/bench/fastvit_torch_peer.py" --weights "$work/fastvit_sa12_reparam.safetensors" --batch 1,8 --threads "$threads"
  for b in 1 8; do ort_time "$work/fastvit_sa12.onnx" $b; done
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
