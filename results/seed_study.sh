#!/usr/bin/env bash
# Issue 15's seed study: the demo's recipe (small benchmark, split 1, DIS medium flow at 112 px,
# demo_spatial + demo_temporal at the demo's step budget, 25 frames x 10 crops) on seeds
# no test uses; each seed renders its own benchmark and trains with its own seed.
# FLOW picks the ingest's flow algorithm (the demo's: dis_medium); TEMPORAL_SETS adds
# --set overrides to the temporal runs (e.g. "--set model.flow_scale=1.0 --set train.lr_drops=0.9").
# REUSE=DIR takes each seed's render, records and trained spatial run from an earlier study in DIR
# (same FLOW), so two temporal settings are compared against the same spatial nets.
# Usage: OUT=out/seeds SEEDS="101 102 103" [FLOW=dis_medium] [TEMPORAL_SETS=...] [REUSE=DIR] results/seed_study.sh
set -euo pipefail
OUT=${OUT:-out/seeds}
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-800}
SEEDS=${SEEDS:-101 102 103}
FLOW=${FLOW:-dis_medium}
read -r -a TEMPORAL_SETS <<< "${TEMPORAL_SETS:-}"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
evals=()
REUSE=${REUSE:-}
for seed in $SEEDS; do
  dir="$OUT/s$seed" data="${REUSE:-$OUT}/s$seed"
  [ -f "$data/synth/benchmark.json" ] || $PY -m beam_pipelines.synth --out "$data/synth" --seed "$seed" \
      --profile small > /dev/null
  [ -f "$data/records/summary.json" ] || $PY -m beam_pipelines.ingest --format ucf101 \
      --root "$data/synth/ucf101" --split 1 --output "$data/records" --flow "$FLOW" --bidirectional --size 112 \
      --num_shards 2 > /dev/null
  [ -n "$REUSE" ] || $PY -m tfx_models.train --config tfx_models/experiments/demo_spatial.py \
      --run_dir "$data/runs/spatial" --set data.records="$data/records" --set train.steps=$STEPS \
      --set train.seed="$seed" | tail -1
  $PY -m tfx_models.train --config tfx_models/experiments/demo_temporal.py --run_dir "$dir/runs/temporal" \
      --set data.records="$data/records" --set train.steps=$STEPS --set train.seed="$seed" \
      "${TEMPORAL_SETS[@]}" | tail -1
  $PY -m tfx_models.evaluate --spatial "$data/runs/spatial" --temporal "$dir/runs/temporal" --out "$dir/eval" \
      --num_frames 25 --crops 10 --svm_frames 5 --svm_crops 1 > /dev/null
  evals+=(--eval "$dir/eval")
done
$PY -m results.seed_study "${evals[@]}"
