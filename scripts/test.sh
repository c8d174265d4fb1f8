#!/usr/bin/env bash
# Tests: install dependencies (incl. Debian's PyTorch for reference checks), build, run the suite.
# Tests that need ../shared/data skip with a message when it is absent. Then, when clang is
# installed, a short fuzzing pass over every parser of untrusted bytes (scripts/fuzz.sh;
# VITRT_FUZZ_SECONDS per target, default 20; 0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-tests
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVITRT_BUILD_TESTS=ON >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure -j2 "$@"
fuzz_secs=${VITRT_FUZZ_SECONDS:-20}
if [ "$fuzz_secs" != 0 ] && command -v clang++ >/dev/null; then
  # Per-input limit 60 s of wall time: on a busy CI machine a starved fuzzer can pass 10 s on an
  # input that runs in 0.1 s; a hang still fails.
  FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-60} scripts/fuzz.sh "$fuzz_secs"
elif [ "$fuzz_secs" != 0 ]; then
  echo "test.sh: clang++ not found; fuzzing skipped (scripts/install-deps.sh --with-tests installs it)"
fi
