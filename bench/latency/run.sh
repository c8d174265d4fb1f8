#!/usr/bin/env bash
# Cold start and tail latency (issue 11, items 3 and 4), batch 1, on this machine:
#   cold start: N fresh processes of `vitrt bench --batch 1 --runs 1 --warmup 0` per model
#     (the file in the page cache): load_ms + the first run = load-to-first-result; peak RSS;
#   tail: `vitrt bench --batch 1 --runs R --warmup 10`, 3 processes per model: median, p90, p99, max
#     and p99 / median (target <= 1.5);
#   cause: ViT-Ti/16 under three OpenMP idle policies (spin then sleep, sleep at once, spin).
# Models: the bundled ViT-Ti/16 and a random-weight ViT-B/16 (bench/make_models.py).
# Usage: bench/latency/run.sh [COLD_N=5] [RUNS=200]  (from the repository root, after a build)
# Writes bench/results/latency_<date>.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
COLD_N=${1:-5}
RUNS=${2:-200}
THREADS=${THREADS:-$(nproc)}
VITRT=build/vitrt
WORK=${WORK_DIR:-/tmp/vitrt-latency}
OUT=bench/results/latency_$(date -u +%Y-%m-%d).md
mkdir -p "$WORK"
[[ -f $WORK/vit_base_patch16_224.safetensors ]] || /usr/bin/python3 bench/make_models.py "$WORK" vit_base_patch16_224 >/dev/null
MODELS=("ViT-Ti/16=models/vit_tiny_patch16_224" "ViT-B/16=$WORK/vit_base_patch16_224.safetensors")
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

py() { /usr/bin/python3 -c "$@"; }
COLD_ROWS="" TAIL_ROWS=""
for entry in "${MODELS[@]}"; do
    name=${entry%%=*} path=${entry#*=}
    totals=() loads=() firsts=() rss=()
    for _ in $(seq "$COLD_N"); do
        j=$(/usr/bin/time -f 'RSS_KB %M' -o "$WORK/time.txt" "$VITRT" bench --model "$path" --batch 1 --runs 1 --warmup 0 \
              --threads "$THREADS" --json)
        l=$(py "import json,sys; print('%.1f' % json.loads(sys.argv[1])['load_ms'])" "$j")
        f=$(py "import json,sys; print('%.1f' % json.loads(sys.argv[1])['results'][0]['median_ms'])" "$j")
        loads+=("$l") firsts+=("$f") totals+=("$(py "print('%.1f' % ($l + $f))")")
        rss+=("$(awk '/RSS_KB/ {print int($2 / 1024)}' "$WORK/time.txt")")
        echo "$name cold: load $l ms + first run $f ms" >&2
    done
    med() { py "import statistics,sys; print('%.1f' % statistics.median(map(float, sys.argv[1:])))" "$@"; }
    COLD_ROWS+="| $name | $(med "${totals[@]}") | $(med "${loads[@]}") | $(med "${firsts[@]}") | ${totals[*]} | $(printf '%s\n' "${rss[@]}" | sort -n | tail -1) |"$'\n'
    for i in 1 2 3; do
        j=$("$VITRT" bench --model "$path" --batch 1 --runs "$RUNS" --warmup 10 --threads "$THREADS" --json)
        row=$(py "import json,sys; r=json.loads(sys.argv[1])['results'][0]; print('| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |' % (sys.argv[2], $i, r['median_ms'], r['p90_ms'], r['p99_ms'], r['max_ms'], r['p99_ms'] / r['median_ms']))" "$j" "$name")
        echo "$row" >&2
        TAIL_ROWS+="$row"$'\n'
    done
done

# Cause analysis: the same ViT-Ti/16 batch-1 series under three OpenMP idle policies (the CLI's
# default spins 10000 iterations, then sleeps; a worker that slept must be woken by a futex).
POLICY_ROWS=""
for pol in "default (GOMP_SPINCOUNT=10000)|" "sleep at once (GOMP_SPINCOUNT=0)|GOMP_SPINCOUNT=0" \
           "spin (OMP_WAIT_POLICY=active)|OMP_WAIT_POLICY=active"; do
    label=${pol%%|*} envset=${pol#*|}
    j=$(env ${envset:+"$envset"} "$VITRT" bench --model models/vit_tiny_patch16_224 --batch 1 --runs "$RUNS" --warmup 10 \
          --threads "$THREADS" --json)
    row=$(py "import json,sys; r=json.loads(sys.argv[1])['results'][0]; print('| %s | %.2f | %.2f | %.2f | %.2f | %.2f |' % (sys.argv[2], r['median_ms'], r['p90_ms'], r['p99_ms'], r['max_ms'], r['p99_ms'] / r['median_ms']))" "$j" "$label")
    echo "ViT-Ti/16 $row" >&2
    POLICY_ROWS+="$row"$'\n'
done

cat > "$OUT" <<MD
# Cold start and tail latency, $(date -u '+%Y-%m-%d %H:%M')

\`bench/latency/run.sh $COLD_N $RUNS\` at commit $(git rev-parse --short HEAD); $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo),
$(nproc) cores, $THREADS threads; load average $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; transparent huge
pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown).

## Load-to-first-result (batch 1, $COLD_N fresh processes each, file in the page cache)

Target (issue 11): ViT-B/16 f32 <= 400 ms.

| model | load + first run ms (median) | load ms | first run ms | every process | peak RSS MiB (max) |
|---|---|---|---|---|---|
$COLD_ROWS
## Tail latency (batch 1, $RUNS runs after 10 warm-up, 3 processes each)

Target (issue 11): p99 <= 1.5x median for ViT-Ti/16 and ViT-B/16.

| model | process | median ms | p90 ms | p99 ms | max ms | p99 / median |
|---|---|---|---|---|---|---|
$TAIL_ROWS
## ViT-Ti/16 batch 1 under three OpenMP idle policies ($RUNS runs after 10 warm-up, one process each)

| policy | median ms | p90 ms | p99 ms | max ms | p99 / median |
|---|---|---|---|---|---|
$POLICY_ROWS
MD
echo "wrote $OUT"
cat "$OUT"
