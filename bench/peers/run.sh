#!/usr/bin/env bash
# vitrt vs ONNX Runtime vs PyTorch on this CPU, in one alternating run. See bench/README.md.
#
#   bench/peers/run.sh [--quick] [--threads N] [--batch 1,8] [--rounds R] [--warmup W] [--runs N]
#                      [--models ViT-Ti/16,ViT-B/16] [--vitrt PATH] [--build] [--work-dir DIR]
#                      [--torch-variants eager,jit,jit_ofi] [--no-torch-bf16] [--peer-wait passive|default]
#                      [--results-dir DIR] [--timeout S] [--int8] [--int8-check-images N]
#                      [--int8-memory-model ViT-L/16|none] [--vitrt-precisions f32,bf16]
#
# Installs the peers (npm onnxruntime-node from package-lock.json; Debian python3-torch,
# python3-torchvision, libopenblas0-openmp, time), builds vitrt if its binary is missing (or
# always with --build), compiles the oneDNN GEMM-rate probe, then hands over to compare.py.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cmdline="$*"
vitrt="build/vitrt"
work="${VITRT_BENCH_DIR:-/tmp/vitrt-bench-models}"
build=0
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --vitrt) vitrt="${2:?--vitrt needs a path}"; shift 2 ;;
    --work-dir) work="${2:?--work-dir needs a directory}"; shift 2 ;;
    --build) build=1; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; echo; exec /usr/bin/python3 "$here/compare.py" --help ;;
    *) pass+=("$1"); shift ;;
  esac
done
case "$vitrt" in /*) ;; *) vitrt="$repo/$vitrt" ;; esac

die() { echo "run.sh: error: $*" >&2; exit 1; }
step() { echo "== $*"; }

# --- Debian packages --------------------------------------------------------------------------
"$repo/scripts/install-deps.sh" || die "scripts/install-deps.sh failed (vitrt build dependencies)"
want=(python3-numpy python3-torch python3-torchvision libopenblas0-openmp time g++)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian (its own npm included): only install when absent.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q || die "apt-get update failed"
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" || die "apt-get install ${missing[*]} failed"
fi
openblas_dir=/usr/lib/x86_64-linux-gnu/openblas-openmp
[ -e "$openblas_dir/libblas.so.3" ] || die "$openblas_dir/libblas.so.3 missing (libopenblas0-openmp): PyTorch would run on another BLAS"
/usr/bin/python3 -c "import torch, torchvision" 2>/dev/null || die "/usr/bin/python3 cannot import torch/torchvision (python3-torch, python3-torchvision)"

# --- ONNX Runtime (npm) -----------------------------------------------------------------------
want_ort="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dependencies"]["onnxruntime-node"])' "$here/package.json")"
have_ort="$( [ -f "$here/node_modules/onnxruntime-node/package.json" ] && /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$here/node_modules/onnxruntime-node/package.json" || true)"
if [ "$have_ort" != "$want_ort" ]; then
  step "npm ci --ignore-scripts (onnxruntime-node $want_ort) in bench/peers"
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund) || die "npm ci failed in $here (onnxruntime-node $want_ort)"
fi
(cd "$here" && node -e "require('./node_modules/onnxruntime-node')") >/dev/null 2>&1 \
  || die "onnxruntime-node does not load: $(cd "$here" && node -e "require('./node_modules/onnxruntime-node')" 2>&1 | tail -3)"

# --- vitrt ------------------------------------------------------------------------------------
if [ ! -x "$vitrt" ] || [ "$build" = 1 ]; then
  bdir="$(dirname "$vitrt")"
  step "building vitrt in $bdir"
  if [ ! -f "$bdir/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null || die "cmake configure of $bdir failed"
  fi
  cmake --build "$bdir" --target vitrt_cli || die "vitrt build failed in $bdir"
  [ -x "$vitrt" ] || die "$vitrt still missing after the build (is --vitrt the CLI inside a CMake build dir?)"
fi

# --- oneDNN GEMM-rate probe -------------------------------------------------------------------
mkdir -p "$work"
gemm="$work/gemm_rate"
if [ ! -x "$gemm" ] || [ "$here/gemm_rate.cpp" -nt "$gemm" ]; then
  step "g++ gemm_rate.cpp"
  g++ -O2 -std=c++17 -fopenmp "$here/gemm_rate.cpp" -o "$gemm" -ldnnl || die "gemm_rate.cpp did not compile (libdnnl-dev)"
fi

exec /usr/bin/python3 "$here/compare.py" --repo "$repo" --vitrt "$vitrt" --work-dir "$work" --gemm-rate "$gemm" \
  --cmdline "$cmdline" ${pass[@]+"${pass[@]}"}
