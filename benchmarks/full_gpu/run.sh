#!/bin/bash
# Device entry point: bash .gpu/code/run.sh TOTAL_SECONDS "name:cap_seconds:python args" ...
# Builds the mirror under /tmp/w, runs each job in turn with a timeout that leaves time to collect,
# and always copies results and logs to $OUT.
set -u
TOTAL=$1; shift
START=$(date +%s)
W=${WORK:-/tmp/w}
OUT=${OUT:-/tmp/out}
mkdir -p "$W/mirror" "$W/logs" "$W/res" "$W/torch" "$W/cache" "$OUT"
collect() {
  cp "$W"/res/*.json "$OUT"/ 2>/dev/null
  tar -czf "$OUT/logs.tgz" -C "$W" logs res 2>/dev/null
  ls -la "$OUT"
}
trap collect EXIT
{
  date -u; nvidia-smi 2>&1 | head -15; nproc; free -g | head -2
} > "$W/logs/env.txt" 2>&1
if [ -f .gpu/text/data.tar.xz ]; then
  tar -xJf .gpu/text/data.tar.xz -C "$W/mirror"
  cp -r .gpu/text/minilm_fp16/models "$W/mirror/"
  python3 .gpu/code/upcast.py "$W/mirror/models/sentence-transformers/all-MiniLM-L6-v2/model.safetensors"
fi
if [ -d .gpu/img ]; then
  bash .gpu/img/prep_img.sh "$W"
fi
export APPLIED_MLX_MIRROR="$W/mirror" TORCH_HOME="$W/torch" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
  HF_DATASETS_OFFLINE=1 APPLIED_MLX_PROFILE=${APPLIED_MLX_PROFILE:-full} PYTHONUNBUFFERED=1 \
  PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" APPLIED_MLX_CACHE="$W/cache" MPLBACKEND=Agg \
  TOKENIZERS_PARALLELISM=false CUBLAS_WORKSPACE_CONFIG=:4096:8 RESULTS_DIR="$W/res"
for job in "$@"; do
  name=${job%%:*}; rest=${job#*:}; cap=${rest%%:*}; cmd=${rest#*:}
  now=$(date +%s); left=$((TOTAL - (now - START) - 20))
  if [ $cap -lt $left ]; then left=$cap; fi
  if [ $left -lt 30 ]; then echo "skip $name: ${left}s left" | tee -a "$W/logs/skipped.txt"; continue; fi
  echo "== $name (timeout ${left}s): python3 $cmd"
  t0=$(date +%s)
  timeout -k 5 $left python3 $cmd --budget $((left - 15)) > "$W/logs/$name.log" 2>&1
  rc=$?
  echo "== $name rc=$rc in $(( $(date +%s) - t0 ))s" | tee -a "$W/logs/rc.txt"
  tail -5 "$W/logs/$name.log"
done
