#!/usr/bin/env bash
# Issue 14's flow study: which optical flow is worth its cost. Per flow algorithm and split:
# ingest the UCF-like set with that flow (112 px; split 1 ingested, the other splits re-split
# from its records by beam_pipelines.resplit), train demo_temporal (STEPS, seed = split) and
# score it (NUM_FRAMES x CROPS); then time each algorithm per pair at 112 and 256 px, measure its
# end-point error against the renderer's exact flow, and write the table (accuracy per split,
# mean, recall by cue, cost, projected CPU-core-hours for UCF-101 at 256 px).
# Usage: OUT=out/flow_study STEPS=800 [FLOWS="dis_medium dis_fast"] results/flow_study.sh
set -euo pipefail
OUT=${OUT:-out/flow_study}
STEPS=${STEPS:-800}
FLOWS=${FLOWS:-tvl1 dis_medium dis_fast dis_ultrafast farneback}
source "$(dirname "$0")/results_env.sh"

for flow in $FLOWS; do
  for split in $SPLITS; do
    records="$RECORDS/ucf101-s$split-$flow" run="$OUT/runs/$flow/s$split" eval="$OUT/eval/$flow/s$split"
    first="$RECORDS/ucf101-s1-$flow"
    if [ ! -f "$first/summary.json" ]; then
      $PY -m beam_pipelines.ingest --format ucf101 --root "$SYNTH/ucf101" --split 1 --output "$first" \
          --flow "$flow" --size 112 --num_shards 2 > /dev/null
    fi
    [ -f "$records/summary.json" ] || $PY -m beam_pipelines.resplit --records "$first" --format ucf101 \
        --root "$SYNTH/ucf101" --split "$split" --output "$records" > /dev/null
    # An evaluated split is done (delete its eval dir to train further).
    [ -f "$eval/results.json" ] && continue
    $PY -m tfx_models.train --config tfx_models/experiments/demo_temporal.py --run_dir "$run" \
        --set data.records="$records" --set train.steps="$STEPS" --set train.seed="$split" "${EXTRA[@]}" | tail -1
    $PY -m tfx_models.evaluate --temporal "$run" --records "$records" \
        --out "$eval" --num_frames "$NUM_FRAMES" --crops "$CROPS" --no_svm > /dev/null
  done
done
$PY -m results.flow_study --eval "$OUT/eval" --synth "$SYNTH" | tee "$OUT/table.md"
