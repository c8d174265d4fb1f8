#!/usr/bin/env bash
# Load test of `vitrt serve` on loopback with wrk posting real JPEGs (issue 13):
#   1. offline throughput: `vitrt bench --batch 8 --threads 2` (engine only, no decode) and
#      `vitrt classify --batch 8 --threads 2` over the same photos (decode + preprocess + engine);
#   2. server (--threads 2 --max-batch 8): concurrency 1, 4, 16, 64: img/s, p50/p99, average batch
#      size (from /metrics), errors; RSS before / after a longer saturation run at 64;
#   3. overload: a small queue (--max-queue 16) and 200 connections: 503s, server still ready, RSS.
# Usage: bench/serve/run.sh [DURATION_S=20] [SATURATION_S=300]   (from the repository root, after a build)
# Writes bench/results/serve_<date>.md (and .log with the raw wrk output).
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-20}
SAT=${2:-300}
VITRT=build/vitrt
MODEL=${VITRT_MODEL_PATH:-models/vit_tiny_patch16_224}
DATA=${VITRT_SHARED_DATA:-../shared/data}
PORT=${PORT:-18123}
STAMP=$(date -u +%Y-%m-%d)
OUT=bench/results/serve_${STAMP}.md
LOG=bench/results/serve_${STAMP}.log
LIST=$(mktemp)
trap 'rm -f "$LIST"; [[ -n "${SERVER:-}" ]] && kill "$SERVER" 2>/dev/null || true' EXIT
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)"; exit 2; }
[[ -f $DATA/images/labels.csv ]] || { echo "needs $DATA/images (real photos)"; exit 2; }
tail -n +2 "$DATA/images/labels.csv" | cut -d, -f1 | sed "s#^#$DATA/images/#" > "$LIST"
NIMG=$(wc -l < "$LIST")
: > "$LOG"

# Resident size once requests in flight have finished (the server returns freed pages each second).
rss_kb() { sleep 2; awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v s="$1" '$1 == s {print $2}'; }
start_server() {
    "$VITRT" serve --model "$MODEL" --port "$PORT" --threads 2 "$@" >> "$LOG" 2>&1 &
    SERVER=$!
    for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null && return; sleep 0.1; done
    echo "server did not start"; exit 1
}
stop_server() { kill -TERM "$SERVER"; wait "$SERVER" || true; SERVER=; }

offline_bench() { "$VITRT" bench --model "$MODEL" --batch 8 --threads 2 --runs 20 --json | python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["results"][0]["images_per_s"])'; }
echo "== offline" | tee -a "$LOG"
OFFLINE_BEFORE=$(offline_bench)
OFFLINE=$OFFLINE_BEFORE
T0=$(date +%s.%N)
"$VITRT" classify --model "$MODEL" --batch 8 --threads 2 --top-k 5 $(cat "$LIST") > /dev/null 2>>"$LOG" || true
T1=$(date +%s.%N)
CLASSIFY=$(python3 -c "print('%.1f' % ($NIMG / ($T1 - $T0)))")
echo "bench batch 8: $OFFLINE_BEFORE img/s; classify (decode+engine) batch 8: $CLASSIFY img/s over $NIMG photos" | tee -a "$LOG"

start_server --max-batch 8 --max-queue-delay-us 2000
NAME=$(grep -o 'vitrt serve: model [^ :]*:' "$LOG" | tail -1 | sed 's/.*model \(.*\):/\1/')
URL="http://127.0.0.1:$PORT/v1/models/$NAME/classify"
# warm the connection paths once
curl -s -H "Content-Type: image/jpeg" --data-binary @"$(head -1 "$LIST")" "$URL" > /dev/null
RSS0=$(rss_kb "$SERVER")
ROWS=""
for C in 1 4 16 64; do
    D=$DUR
    [[ $C == 64 ]] && D=$SAT && RSS_WARM=$(rss_kb "$SERVER")  # warmed up by the runs before
    I0=$(metric "vitrt_inference_count_total{model=\"$NAME\",output=\"logits\"}"); E0=$(metric "vitrt_execution_count_total{model=\"$NAME\",output=\"logits\"}")
    echo "== concurrency $C, ${D}s" | tee -a "$LOG"
    R=$(wrk -t1 -c"$C" -d"${D}s" --timeout 10s --latency -s bench/serve/post_images.lua "$URL" -- "$LIST" | tee -a "$LOG" | grep '^RESULT')
    I1=$(metric "vitrt_inference_count_total{model=\"$NAME\",output=\"logits\"}"); E1=$(metric "vitrt_execution_count_total{model=\"$NAME\",output=\"logits\"}")
    get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $R"; }
    AVG=$(python3 -c "print('%.2f' % (($I1 - $I0) / max(1, $E1 - $E0)))")
    ERR=$(( $(get non2xx) + $(get connect_err) + $(get read_err) + $(get write_err) + $(get timeouts) ))
    PCT=$(python3 -c "print('%.0f' % (100 * $(get rps) / $OFFLINE))")
    PCTC=$(python3 -c "print('%.0f' % (100 * $(get rps) / $CLASSIFY))")
    ROWS+="| $C | ${D} | $(get rps) | ${PCT} % | ${PCTC} % | $(get p50_ms) | $(get p99_ms) | $AVG | $ERR |"$'\n'
done
RSS1=$(rss_kb "$SERVER")
stop_server

echo "== overload" | tee -a "$LOG"
start_server --max-batch 8 --max-queue 16
RSS2=$(rss_kb "$SERVER")
R=$(wrk -t1 -c200 -d"${DUR}s" --timeout 10s --latency -s bench/serve/post_images.lua "$URL" -- "$LIST" | tee -a "$LOG" | grep '^RESULT')
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $R"; }
N503=$(metric "vitrt_requests_total{model=\"$NAME\",code=\"503\"}"); N200=$(metric "vitrt_requests_total{model=\"$NAME\",code=\"200\"}")
READY=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2/health/ready")
RSS3=$(rss_kb "$SERVER")
stop_server
OFFLINE_AFTER=$(offline_bench)
echo "offline bench batch 8 after the server runs: $OFFLINE_AFTER img/s" | tee -a "$LOG"

cat > "$OUT" <<MD
# vitrt serve load test, $STAMP

\`bench/serve/run.sh $DUR $SAT\` at commit $(git rev-parse --short HEAD), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo),
$(nproc) cores shared with wrk (1 thread) and whatever else ran on the host. Model: ViT-Ti/16 f32 ($MODEL).
Server: \`vitrt serve --threads 2 --max-batch 8 --max-queue-delay-us 2000\`; clients: wrk on loopback posting
$NIMG real photos ($DATA/images, round robin, one image per request) to /v1/models/$NAME/classify.

Offline, same machine, same run: \`vitrt bench --batch 8 --threads 2\` = **$OFFLINE_BEFORE img/s** before the
server runs and $OFFLINE_AFTER img/s after them (engine only, no decoding; "of offline bench" uses the first); \`vitrt classify --batch 8 --threads 2\` over the same photos = **$CLASSIFY img/s** (decode + preprocess
+ engine, one process, including model load).

| concurrency | seconds | img/s | of offline bench | of offline classify | p50 ms | p99 ms | avg batch (/metrics) | errors |
|---|---|---|---|---|---|---|---|---|
$ROWS
Server RSS (2 s after the load stops): $((RSS0 / 1024)) MiB after start-up, $((RSS_WARM / 1024)) MiB warmed up (before
the ${SAT} s saturation run at concurrency 64), $((RSS1 / 1024)) MiB after it: growth $(python3 -c "print('%.1f' % (100 * ($RSS1 - $RSS_WARM) / $RSS_WARM))") % (target <= 5 %).

Overload (\`--max-queue 16\`, 200 connections, ${DUR} s): $(get rps) responses/s, $N200 answered 200 and
$N503 answered 503 (Retry-After: 1), wrk errors other than status: connect $(get connect_err), read $(get read_err),
timeouts $(get timeouts); p99 $(get p99_ms) ms. Readiness after the run: $READY. RSS $((RSS2 / 1024)) MiB before,
$((RSS3 / 1024)) MiB after.
MD
echo "wrote $OUT"
cat "$OUT"
