#!/bin/bash
# The longer GPU sweep (after device_check.sh passed), one device call per part, each < 10 minutes:
#   bash bench/cuda/device_sweep.sh b   # ViT-B/16: batch 8 and 256, f16 and bf16
#   bash bench/cuda/device_sweep.sh l   # ViT-L/16: batch 1, 8, 64, 256, bf16 (1.2 GB of weights)
# Same environment and output conventions as device_check.sh (tables and logs under $OUT).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/vitrt-device-sweep}
mkdir -p "$OUT"
part=${1:-b}
source bench/cuda/device_env.sh >"$OUT/env.log" 2>&1
cat "$OUT/env.log"
[ "$VITRT_ENV_OK" = 1 ] || { echo "FAIL bundle: see $OUT/env.log"; exit 1; }
command -v nvidia-smi >/dev/null 2>&1 || { echo "SKIP sweep: nvidia-smi absent (no NVIDIA GPU or driver on this machine)"; exit 0; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
case $part in
    b) args=(--models vit_base_patch16_224 --batch 8,256 --precision f16,bf16) ;;
    l) args=(--models vit_large_patch16_224 --batch 1,8,64,256 --precision bf16) ;;
    *) echo "usage: $0 b|l" >&2; exit 2 ;;
esac
timeout --signal=INT --kill-after=10 560 python3 bench/cuda/bench_vs_torch.py --vitrt "$VITRT_BIN/vitrt" "${args[@]}" \
    --warmup 3 --runs 10 --out "$OUT/sweep_$part.md" 2>&1 | tee "$OUT/sweep_$part.log"
exit "${PIPESTATUS[0]}"
