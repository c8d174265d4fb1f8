#!/usr/bin/env bash
# What each quantization scheme costs on the real ViT-Ti/16 (docs/quantization.md's tables).
#
#   scripts/quant_accuracy.sh [--vitrt build/vitrt] [--out DIR] [ROW ...]
#
# Two evaluation sets from ../shared/data/images (or $VITRT_SHARED_DATA/images):
#   set117  imagenet_sample_1per10 + imagenet_selected, labels from labels.csv (117 images)
#   calib   imagenet_calib (416 images, classes disjoint from set117), split by row of its
#           labels.csv: calib_a = rows 1, 3, 5, ... (208 images) calibrates static w8a8 (and the
#           sensitivity pass of --auto-float); calib_b = rows 2, 4, 6, ... (208) is held out.
# Schemes without calibration are evaluated on set117 and all 416 calib images; calibrated ones on
# set117 and calib_b only (never on images they were calibrated on). Every row: top-1, top-1
# agreement with f32 and logit cosine (mean / worst) against the f32 model (`vitrt eval
# --reference-model`). Rows (default: all): f32 dyn w8 w4g128 w4g64 w4g32 and the static ones
# listed in ROWS below. Results: DIR/results.md (a table) and DIR/<row>.<set>.json.
# Not timing-sensitive: run it niced on a shared machine.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vitrt="$repo/build/vitrt"
out="${TMPDIR:-/tmp}/vitrt-quant-accuracy"
rows=()
while [ $# -gt 0 ]; do
  case "$1" in
    --vitrt) vitrt="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) rows+=("$1"); shift ;;
  esac
done
shared="${VITRT_SHARED_DATA:-$repo/../shared/data}"
images="$shared/images"
model="$shared/models/vit_tiny_patch16_224"
[ -d "$images/imagenet_calib" ] && [ -d "$model" ] || { echo "quant_accuracy.sh: needs $images and $model" >&2; exit 2; }
[ -x "$vitrt" ] || { echo "quant_accuracy.sh: no vitrt binary at $vitrt (build first)" >&2; exit 2; }
mkdir -p "$out"

# The sets, as CSVs with absolute paths.
awk -F, -v d="$images" 'NR > 1 && ($1 ~ /^imagenet_sample_1per10\// || $1 ~ /^imagenet_selected\//) && $2 >= 0 \
  { print d "/" $1 "," $2 }' "$images/labels.csv" > "$out/set117.csv"
awk -F, -v d="$images" 'NR > 1 { print d "/" $1 "," $2 }' "$images/imagenet_calib/labels.csv" > "$out/calib.csv"
awk 'NR % 2 == 1' "$out/calib.csv" > "$out/calib_a.csv"
awk 'NR % 2 == 0' "$out/calib.csv" > "$out/calib_b.csv"

# name | how | quantize flags ("" = at load: --precision) | precision at load
ROWS=(
  "f32|--precision f32||f32"
  "dyn|--precision w8a8-dynamic||w8a8-dynamic"
  "w8|--precision w8 (g128)||w8"
  "w4g128|quantize --scheme w4 --group 128|--scheme w4 --group 128|"
  "w4g64|quantize --scheme w4 --group 64|--scheme w4 --group 64|"
  "w4g32|--precision w4 (g32)||w4"
  "s_pct|quantize --method percentile|--scheme w8a8 --method percentile|"
  "s_mse|quantize --method mse|--scheme w8a8 --method mse|"
  "s_mse_af8|quantize --method mse --auto-float 8|--scheme w8a8 --method mse --auto-float 8|"
  "s_mse_fc2f|quantize --method mse --keep-float '*.fc2.weight'|--scheme w8a8 --method mse --keep-float *.fc2.weight|"
  "s_minmax|quantize --method minmax|--scheme w8a8 --method minmax|"
  "s_auto|quantize --method auto|--scheme w8a8 --method auto|"
  "s_mm_ad1|quantize --method minmax --auto-dynamic 1|--scheme w8a8 --method minmax --auto-dynamic 1|"
  "s_mse_ad1|quantize --method mse --auto-dynamic 1|--scheme w8a8 --method mse --auto-dynamic 1|"
  "s_auto_ad1|quantize --method auto --auto-dynamic 1|--scheme w8a8 --method auto --auto-dynamic 1|"
  "s_auto_af1|quantize --method auto --auto-float 1|--scheme w8a8 --method auto --auto-float 1|"
  "s_auto_ad4|quantize --method auto --auto-dynamic 4|--scheme w8a8 --method auto --auto-dynamic 4|"
  "s_auto_ad8|quantize --method auto --auto-dynamic 8|--scheme w8a8 --method auto --auto-dynamic 8|"
  "s_mse_ad4|quantize --method mse --auto-dynamic 4|--scheme w8a8 --method mse --auto-dynamic 4|"
  "s_mse_ad8|quantize --method mse --auto-dynamic 8|--scheme w8a8 --method mse --auto-dynamic 8|"
)
[ ${#rows[@]} -eq 0 ] && for r in "${ROWS[@]}"; do rows+=("${r%%|*}"); done

eval_set() {  # row set csv args...
  local row="$1" set="$2" csv="$3"; shift 3
  nice -n 10 "$vitrt" eval --no-progress --batch 16 --reference-model "$model" --labels-csv "$csv" \
    --results-file "$out/$row.$set.json" "$@" > "$out/$row.$set.log" 2>&1 || { cat "$out/$row.$set.log" >&2; return 1; }
}

# field FILE FORMAT KEY...: keys may be dotted (reference.top1_correct).
field() {
  /usr/bin/python3 -c 'import functools, json, sys
r = json.load(open(sys.argv[1]))
print(sys.argv[2] % tuple(functools.reduce(lambda d, k: d[k], key.split("."), r) for key in sys.argv[3:]))' "$@"
}

table="$out/results.md"
{
  echo "| row | how | set117: top-1 (f32) | agreement | cosine mean / worst | calib set: top-1 (f32) | agreement | cosine mean / worst |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$table"
for want in "${rows[@]}"; do
  spec=""
  for r in "${ROWS[@]}"; do [ "${r%%|*}" = "$want" ] && spec="$r"; done
  [ -n "$spec" ] || { echo "quant_accuracy.sh: unknown row $want" >&2; exit 2; }
  IFS='|' read -r name how qflags prec <<< "$spec"
  if [ -n "$qflags" ]; then
    calib_set=calib_b
    # shellcheck disable=SC2086  # qflags is a flag list
    nice -n 10 "$vitrt" quantize --model "$model" --calib "$out/calib_a.csv" $qflags -o "$out/$name.safetensors" \
      > "$out/$name.quantize.log" 2>&1 || { cat "$out/$name.quantize.log" >&2; exit 1; }
    args=(--model "$out/$name.safetensors")
    case "$qflags" in *w8a8*|*auto-float*) ;; *) calib_set=calib ;; esac  # weight-only: no calibration data used
  else
    calib_set=calib
    args=(--model "$model" --precision "$prec")
  fi
  eval_set "$name" set117 "$out/set117.csv" "${args[@]}"
  eval_set "$name" "$calib_set" "$out/$calib_set.csv" "${args[@]}"
  line="| $name | \`$how\`"
  for s in set117 "$calib_set"; do
    j="$out/$name.$s.json"
    line+=" | $(field "$j" '%d/%d = %.2f %%' top1_correct images top1) ($(field "$j" '%d' reference.top1_correct))"
    line+=" | $(field "$j" '%.2f %%' agreement_top1) | $(field "$j" '%.5f / %.5f' logit_cosine_mean logit_cosine_min)"
  done
  [ "$calib_set" = calib_b ] && line+=" (held-out half)"
  echo "$line |" | tee -a "$table"
done
echo "written: $table"
