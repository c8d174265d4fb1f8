#!/usr/bin/env bash
# Installs what vitrt needs to build and test on Debian 12 (bookworm). Idempotent: packages
# already present are skipped; apt-get runs only when something is missing.
set -euo pipefail
# python3-dev + pybind11-dev + python3-numpy: the Python module (python/; skipped without them).
build_pkgs=(build-essential cmake ninja-build pkg-config libdnnl-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev
            nlohmann-json3-dev libcli11-dev libcpp-httplib-dev python3-dev pybind11-dev python3-numpy)
# clang + libclang-rt-14-dev: libFuzzer and the sanitizer runtimes for scripts/fuzz.sh.
# python3-pytest + python3-distributed: the Python module's tests (ctest Python.Binding, Python.Dask).
test_pkgs=(libgtest-dev python3-torch python3-torchvision python3-numpy python3-pil clang libclang-rt-14-dev
           python3-pytest python3-distributed)
want=("${build_pkgs[@]}")
[ "${1:-}" = "--with-tests" ] && want+=("${test_pkgs[@]}")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
