#!/usr/bin/env bash
# FastViT on the CPU: vitrt vs a PyTorch peer (same reparameterized network, torch.nn.functional),
# alternating in R rounds, batch 1 and 8. Results and how to read them: bench/fastvit.md.
#
#   bench/fastvit.sh [ROUNDS]        (env: VITRT=build/vitrt, THREADS=2, VITRT_BENCH_DIR=/tmp/vitrt-bench-models)
#
# fastvit_t8: the timm fixture in ../shared/data/reference/fastvit_t8 (the exact registered
# architecture, random weights); fastvit_sa12: full size, random weights written by
# bench/fastvit_random_weights.py. Both engines run with OMP_WAIT_POLICY=passive (the vitrt CLI's
# default; spinning OpenMP threads on a shared 2-core machine distort every number).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${1:-3}"
vitrt="${VITRT:-$repo/build/vitrt}"
threads="${THREADS:-2}"
work="${VITRT_BENCH_DIR:-/tmp/vitrt-bench-models}"
t8="$repo/../shared/data/reference/fastvit_t8"
export OMP_WAIT_POLICY=passive
mkdir -p "$work"
[ -f "$work/fastvit_sa12.safetensors" ] ||
  /usr/bin/python3 "$repo/bench/fastvit_random_weights.py" --model fastvit_sa12 --form unfused --out "$work/fastvit_sa12.safetensors"
[ -f "$work/fastvit_sa12_reparam.safetensors" ] ||
  /usr/bin/python3 "$repo/bench/fastvit_random_weights.py" --model fastvit_sa12 --form reparam --out "$work/fastvit_sa12_reparam.safetensors"
/usr/bin/python3 "$repo/bench/fastvit_torch_peer.py" --check "$t8"

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  echo "== round $r"
  "$vitrt" bench --model "$t8/model.safetensors" --batch 1,8 --threads "$threads"
  /usr/bin/python3 "$repo/bench/fastvit_torch_peer.py" --weights "$t8/model_reparam.safetensors" --batch 1,8 --threads "$threads"
  "$vitrt" bench --model "$work/fastvit_sa12.safetensors" --batch 1,8 --threads "$threads"
  /usr/bin/python3 "$repo/bench/fastvit_torch_peer.py" --weights "$work/fastvit_sa12_reparam.safetensors" --batch 1,8 --threads "$threads"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
