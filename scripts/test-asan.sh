#!/usr/bin/env bash
# The whole test suite built with AddressSanitizer + UndefinedBehaviorSanitizer (separate build
# directory build-asan, CPU only), then run. Any sanitizer report fails the test that hit it.
#
#   scripts/test-asan.sh [ctest args]      e.g. scripts/test-asan.sh -R 'Io|Image'
#
# -O1 keeps the real-model tests affordable; UBSan stops at the first report
# (-fno-sanitize-recover) so the report cannot scroll by unnoticed. Leak checking is on (ASan's
# default on Linux). Results of the last full run: docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ASAN_BUILD_DIR:-build-asan}
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
# No Python module: an ASan-instrumented extension cannot load into an uninstrumented interpreter.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVITRT_CUDA=OFF -DVITRT_BUILD_TESTS=ON \
  -DVITRT_PYTHON_BINDING=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$build"
# detect_leaks: on; abort_on_error: a report is a failure, not a log line. The OpenMP runtime's
# thread pool is alive at exit and is not a leak report (LSan only reports unreachable blocks).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The cuda backend is not built here (nvcc output is not instrumented): the gpu-labelled tests run
# and skip, as they must in any build without the plugin (vitrt::DeviceUnavailable).
ctest --test-dir "$build" --output-on-failure -j"${ASAN_JOBS:-2}" "$@"
