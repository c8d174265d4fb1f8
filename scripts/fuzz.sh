#!/usr/bin/env bash
# Builds the libFuzzer targets (ASan + UBSan, clang) in build-fuzz and runs each for a fixed time,
# starting from the seeds in fuzz/corpus/<target>/ (new inputs go to build-fuzz/corpus/<target>/,
# never into the repository). Exits non-zero when a target crashes, leaks or hits UB; the input
# that did it lands in build-fuzz/artifacts/<target>/ (rerun it: build-fuzz/fuzz/fuzz_<t> FILE).
#
#   scripts/fuzz.sh [seconds-per-target]            default 30 (targets: safetensors npz config
#                                                   jpeg png quantized http)
#   FUZZ_TARGETS="png jpeg" scripts/fuzz.sh 600     a subset
#   FUZZ_NICE=19 scripts/fuzz.sh 3600               lower priority (shared machines)
#   FUZZ_TIMEOUT=120 ...                            per-input limit in wall seconds (default 10;
#                                                   raise it at nice 19 on a busy machine, where a
#                                                   starved process can pass 10 s on any input)
# scripts/fuzz-long.sh runs every target for a CPU-time budget instead (the long run in docs/).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
targets=${FUZZ_TARGETS:-"safetensors npz config jpeg png quantized http"}
nice_level=${FUZZ_NICE:-0}
timeout_s=${FUZZ_TIMEOUT:-10}
build=${FUZZ_BUILD_DIR:-build-fuzz}

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (install clang and libclang-rt-14-dev: scripts/install-deps.sh --with-tests)" >&2
  exit 2
fi
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVITRT_FUZZ=ON \
  -DVITRT_BUILD_TESTS=OFF -DVITRT_CUDA=OFF >/dev/null
nice -n "$nice_level" cmake --build "$build" --target fuzz_all

status=0
summary=()
for t in $targets; do
  corpus="$build/corpus/$t" artifacts="$build/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  log="$build/fuzz_$t.log"
  echo "== fuzz_$t: ${secs}s (log: $log)"
  # -malloc_limit_mb: one allocation above 512 MB from a <= 64 KB input is an amplification
  # finding; -rss_limit_mb: the same for the whole process;
  # -timeout: one input taking > 10 s (FUZZ_TIMEOUT) is a finding (e.g. a quadratic path).
  # CPU time and peak RSS per target (the issue counts CPU-hours) when GNU time is installed.
  timer=() timefile="$build/fuzz_$t.time"
  rm -f "$timefile"
  [ -x /usr/bin/time ] && timer=(/usr/bin/time -f "%U %S %M" -o "$timefile")
  if nice -n "$nice_level" "${timer[@]}" "$build/fuzz/fuzz_$t" "$corpus" "fuzz/corpus/$t" -max_total_time="$secs" \
       -rss_limit_mb=2560 -malloc_limit_mb=512 -timeout="$timeout_s" -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$artifacts" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see $log and $artifacts)"
    status=1
    tail -40 "$log" >&2
  fi
  execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$' || echo "?")
  cpu=""
  if [ -s "$timefile" ]; then
    cpu=$(awk 'END { printf ", %.0f s CPU, peak RSS %.0f MB", $1 + $2, $3 / 1024 }' "$timefile")
  fi
  summary+=("fuzz_$t: $execs executions in ${secs}s$cpu: $result")
done
printf '%s\n' "${summary[@]}"
exit $status
