#!/usr/bin/env bash
# Demo: install dependencies, build, classify the bundled sample photos with the bundled ViT-Ti/16.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVITRT_BUILD_TESTS=OFF >/dev/null
cmake --build build --target vitrt_cli
build/vitrt classify samples/ "$@"
