#!/bin/bash
# The one GPU check, run on the lent GPU machine from the repository root, after
# bench/cuda/device_bundle.sh ran on the development machine (see bench/cuda/README.md):
#   1. nvidia-smi; the carried binaries resolve their libraries (ldd);
#   2. the GPU tests: test_cuda_ops (every op x precision vs the ref backend), test_ops on the cuda
#      targets, test_cuda_model (real ViT-Ti vs PyTorch logits and vs the cpu backend in f32 on the
#      labelled images: top-1 and logit diff; CUDA-graph replay asserted; the CLI);
#   3. ViT-B/16 vitrt vs PyTorch eager and torch.compile, batch 1 and 64, f16 and bf16: one table
#      (exits non-zero, without a table, if vitrt's logits disagree with PyTorch).
# Everything goes under $OUT (summary.txt, env.log with nvidia-smi, one log per step, the table: 8 files, the device tool's limit). Whole run <= 8 minutes
# (each step has a timeout; the benchmark gets what is left). Without nvidia-smi (a machine with no
# GPU, e.g. a dry run on the development machine) every GPU step is skipped with a line saying so.
# Exit status: 0 when every step that ran passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/vitrt-device-check}
mkdir -p "$OUT"
START=$(date +%s)
BUDGET=${VITRT_CHECK_BUDGET_S:-470}
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
status=0
note() { echo "$*" | tee -a "$SUMMARY"; }
left() { echo $((BUDGET - ($(date +%s) - START))); }
# step NAME TIMEOUT_S COMMAND...: runs with a timeout, log in $OUT/NAME.log, tail shown.
step() {
    local name=$1 limit=$2 rc
    shift 2
    local l; l=$(left)
    [ "$limit" -gt "$l" ] && limit=$l
    if [ "$limit" -lt 20 ]; then note "SKIP $name: the 8-minute budget is spent"; status=1; return; fi
    echo "== $name (timeout ${limit}s): $*"
    timeout --signal=INT --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    rc=$?
    tail -n 25 "$OUT/$name.log"
    if [ $rc -eq 0 ]; then note "PASS $name ($(( $(date +%s) - START ))s elapsed)"
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then note "FAIL $name: timed out after ${limit}s"; status=1
    else note "FAIL $name: exit $rc (log $OUT/$name.log)"; status=1; fi
}

# shellcheck source=bench/cuda/device_env.sh
source bench/cuda/device_env.sh >"$OUT/env.log" 2>&1
cat "$OUT/env.log"
[ "$VITRT_ENV_OK" = 1 ] && note "PASS bundle: binaries unpacked, ldd clean" || { note "FAIL bundle: see $OUT/env.log"; status=1; }

GPU=1
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi | tee -a "$OUT/env.log"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$SUMMARY"
else
    GPU=0
    note "SKIP GPU steps: nvidia-smi absent (no NVIDIA GPU or driver on this machine)"
fi

# Bundle sanity that needs no GPU: the carried CLI runs (cpu backend) and the test binaries start.
step cli_cpu 60 "$VITRT_BIN/vitrt" classify --device cpu --top-k 1 samples/tench.jpg

if [ $GPU = 1 ]; then
    step test_cuda_ops 90 "$VITRT_BIN/test_cuda_ops"
    step test_ops_cuda 45 "$VITRT_BIN/test_ops" --gtest_filter='*cuda*'
    step test_cuda_model 120 "$VITRT_BIN/test_cuda_model"
    grep -h "^\[ \(real\|vs cpu\|bf16\|f16\|tf32\|graphs\|backend\)" "$OUT/test_cuda_model.log" >>"$SUMMARY" 2>/dev/null
    # VITRT_BENCH_ARGS overrides the benchmark's scope (e.g. "--no-compile --precision bf16" for a
    # first, short check whose budget must leave room for a rerun).
    # shellcheck disable=SC2086
    step bench_vit_b $(left) python3 bench/cuda/bench_vs_torch.py --vitrt "$VITRT_BIN/vitrt" \
        --models vit_base_patch16_224 --batch 1,64 --warmup 3 --runs 10 \
        ${VITRT_BENCH_ARGS:---precision f16,bf16} --out "$OUT/bench_vit_b.md"
    [ -f "$OUT/bench_vit_b.md" ] && cat "$OUT/bench_vit_b.md" >>"$SUMMARY"
else
    # The test binaries still start and skip cleanly (proves the bundle, not the GPU).
    step test_cuda_ops_skips 60 "$VITRT_BIN/test_cuda_ops"
    for s in test_cuda_model test_ops_cuda bench_vit_b; do note "SKIP $s: no GPU"; done
fi
note "total $(( $(date +%s) - START ))s; exit $status"
exit $status
