#!/usr/bin/env bash
# docs/two_stream.md's Tables 1b and 3: Simonyan & Zisserman's Tables 1b/3 on the small synthetic
# benchmark, three splits. Per split: ingest (DIS, forward + backward flow), train a spatial
# stream and the temporal stream in each input configuration, then evaluate all of them
# (25 frames x 10 crops) with both late fusions. EXTRA_SETS adds --set overrides to every run.
# Usage: OUT=out/table STEPS=1000 [EXTRA_SETS=...] results/paper_table.sh
set -euo pipefail
OUT=${OUT:-out/table}
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-1000}
SYNTH=${SYNTH:-out/small/synth}
read -r -a EXTRA <<< "${EXTRA_SETS:-}"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
[ -f "$SYNTH/benchmark.json" ] || $PY -m beam_pipelines.synth --out "$SYNTH" --seed 0 --profile small

# name and overrides of each temporal input configuration (the paper's Table 1b rows)
temporal_configs=(
  "flow_stacking|"
  "trajectory|--set data.stacking=trajectory"
  "bidirectional|--set data.bidirectional=true"
  "no_mean_subtraction|--set data.mean_subtraction=false"
)
spatial_runs=(); temporal_runs=()
for split in 1 2 3; do
  records="$OUT/records/ucf101-s$split"
  [ -f "$records/summary.json" ] || $PY -m beam_pipelines.ingest --format ucf101 --root "$SYNTH/ucf101" \
      --split $split --output "$records" --flow dis --bidirectional --size 112 --num_shards 2 > /dev/null
  run="$OUT/runs/s$split/spatial"
  $PY -m tfx_models.train --config tfx_models/experiments/demo_spatial.py --run_dir "$run" \
      --set data.records="$records" --set train.steps=$STEPS --set train.seed=$split "${EXTRA[@]}" | tail -1
  spatial_runs+=(--spatial "$run")
  for entry in "${temporal_configs[@]}"; do
    name=${entry%%|*}; overrides=${entry#*|}
    run="$OUT/runs/s$split/temporal_$name"
    # shellcheck disable=SC2086
    $PY -m tfx_models.train --config tfx_models/experiments/demo_temporal.py --run_dir "$run" \
        --set data.records="$records" --set train.steps=$STEPS --set train.seed=$split "${EXTRA[@]}" $overrides | tail -1
    temporal_runs+=(--temporal "$run")
  done
done
$PY -m tfx_models.evaluate "${spatial_runs[@]}" "${temporal_runs[@]}" --out "$OUT/eval" \
    --num_frames 25 --crops 10 --svm_frames 5 --svm_crops 1
