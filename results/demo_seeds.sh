#!/usr/bin/env bash
# `make demo` on several benchmark seeds (issue 26): each seed's whole demo, timed, then one
# table of every row's accuracy, ceiling and share, with the gRPC client's count.
# Resumable: a seed whose demo finished is not run again.
# RECORD=docs/demo_results.json also keeps the runs as the range `make demo` compares itself with.
# Usage: OUT=out/demo_seeds [SEEDS="0 1 2"] [RECORD=docs/demo_results.json] results/demo_seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/demo_seeds}
SEEDS=${SEEDS:-0 1 2}
PY=${PY:-.venv/bin/python}
for seed in $SEEDS; do
  dir="$OUT/seed$seed"
  [ -f "$dir/seconds" ] && continue
  mkdir -p "$dir"
  start=$(date +%s)
  OUT="$dir" DEMO_SEED="$seed" bash scripts/demo.sh > "$dir/demo.log" 2>&1
  echo $(( $(date +%s) - start )) > "$dir/seconds"
done
$PY -m results.demo_seeds --out "$OUT" ${RECORD:+--record "$RECORD"}
