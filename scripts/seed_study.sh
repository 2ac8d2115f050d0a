#!/usr/bin/env bash
# Issue 15's seed study: the demo's recipe (small benchmark, split 1, DIS flow at 112 px,
# demo_spatial + demo_temporal at the demo's step budget, 25 frames x 10 crops) on seeds
# no test uses; each seed renders its own benchmark and trains with its own seed.
# FLOW picks the ingest's flow algorithm (the demo's: dis, i.e. DIS fast); TEMPORAL_SETS adds
# --set overrides to the temporal runs (e.g. "--set model.flow_scale=1.0 --set train.lr_drops=0.9").
# Usage: OUT=out/seeds SEEDS="101 102 103" [FLOW=dis_medium] [TEMPORAL_SETS=...] scripts/seed_study.sh
set -euo pipefail
OUT=${OUT:-out/seeds}
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-800}
SEEDS=${SEEDS:-101 102 103}
FLOW=${FLOW:-dis}
read -r -a TEMPORAL_SETS <<< "${TEMPORAL_SETS:-}"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
evals=()
for seed in $SEEDS; do
  dir="$OUT/s$seed"
  [ -f "$dir/synth/benchmark.json" ] || $PY -m beam_pipelines.synth --out "$dir/synth" --seed "$seed" \
      --profile small > /dev/null
  [ -f "$dir/records/summary.json" ] || $PY -m beam_pipelines.ingest --format ucf101 \
      --root "$dir/synth/ucf101" --split 1 --output "$dir/records" --flow "$FLOW" --bidirectional --size 112 \
      --num_shards 2 > /dev/null
  for stream in spatial temporal; do
    overrides=()
    [ $stream = spatial ] || overrides=("${TEMPORAL_SETS[@]}")
    $PY -m tfx_models.train --config tfx_models/experiments/demo_$stream.py --run_dir "$dir/runs/$stream" \
        --set data.records="$dir/records" --set train.steps=$STEPS --set train.seed="$seed" "${overrides[@]}" | tail -1
  done
  $PY -m tfx_models.evaluate --spatial "$dir/runs/spatial" --temporal "$dir/runs/temporal" --out "$dir/eval" \
      --num_frames 25 --crops 10 --svm_frames 5 --svm_crops 1 > /dev/null
  evals+=(--eval "$dir/eval")
done
$PY -m benchmarks.seed_study "${evals[@]}"
