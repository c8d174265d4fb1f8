#!/usr/bin/env bash
# Tests: install dependencies (incl. Debian's PyTorch for reference checks), build, run the suite.
# Tests that need ../shared/data skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-tests
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVITRT_BUILD_TESTS=ON >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure -j2 "$@"
