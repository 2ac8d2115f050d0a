#!/usr/bin/env bash
# The training recipe's trials (issue 26): each stream in the results scripts' setting (96 px
# crops, CNN-M-2048 at width 0.25, DIS medium records at 112 px) under one change at a time,
# evaluated at 25 frames x 10 crops with the benchmark's ceilings beside each row.
# Resumable: a finished run or evaluation is skipped, a cut-off run resumes from its checkpoint.
# Usage: OUT=out/recipe [SPLITS="1"] [TRIALS="s_d05_2400 ..."] results/recipe_trials.sh
set -euo pipefail
OUT=${OUT:-out/recipe}
. "$(dirname "$0")/results_env.sh"

# name | experiment | steps | overrides
ALL_TRIALS=(
  "s_d05_2400|demo_spatial|2400|"
  "s_d09_2400|demo_spatial|2400|--set model.dropout=0.9"
  "t_d05_2400|demo_temporal|2400|"
  "t_d09_2400|demo_temporal|2400|--set model.dropout=0.9"
  "s_d05_1200|demo_spatial|1200|"
  "t_d05_4800|demo_temporal|4800|"
)
TRIALS=${TRIALS:-s_d05_2400 s_d09_2400 t_d05_2400 t_d09_2400}

for split in $SPLITS; do
  records="$RECORDS/ucf101-s$split"
  [ -f "$records/summary.json" ] || $PY -m beam_pipelines.ingest --format ucf101 --root "$SYNTH/ucf101" \
      --split "$split" --output "$records" --flow dis_medium --size 112 --num_shards 2 > /dev/null
  runs=()
  for entry in "${ALL_TRIALS[@]}"; do
    IFS="|" read -r name config steps overrides <<< "$entry"
    [[ " $TRIALS " == *" $name "* ]] || continue
    run="$OUT/runs/s$split/$name"
    if [ ! -f "$run/checkpoints/ckpt-$steps.manifest.json" ]; then
      # shellcheck disable=SC2086
      $PY -m tfx_models.train --config "tfx_models/experiments/$config.py" --run_dir "$run" \
          --set data.records="$records" --set data.cache_decoded=true --set train.steps="$steps" \
          --set train.checkpoint_every=400 "${EXTRA[@]}" $overrides | tail -1
    fi
    runs+=("--${config#demo_}" "$run")
  done
  # One evaluation per set of trials; its late fusion pairs the first spatial trial with each temporal one.
  eval_dir="$OUT/eval/s$split/${TRIALS// /+}"
  [ -f "$eval_dir/results.json" ] || $PY -m tfx_models.evaluate "${runs[@]}" --out "$eval_dir" \
      --num_frames "$NUM_FRAMES" --crops "$CROPS" --no_svm
done
