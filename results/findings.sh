#!/usr/bin/env bash
# The findings table's runs (issue 27) on the results profile, split 1 (630 UCF-like test
# videos), then the table. Resumable: finished runs and evaluations are skipped.
# Usage: OUT=out/findings results/findings.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export OUT=${OUT:-out/findings} PROFILE=results SPLITS=1
export SYNTH=${SYNTH:-$OUT/synth}
. results/results_env.sh

# 1. The streams: the recipe's spatial (two budgets) and temporal trials, with late fusion.
TRIALS="s_d05_2400 s_d05_1200 t_d05_4800" results/recipe_trials.sh

# 2. Conv fusion at ReLU5 (Feichtenhofer et al.) from those streams. How long to train the fusion
#    stage is decided on held-out training groups: a cross-fitted run (fold 0 of 3 never sampled)
#    keeps a checkpoint every 200 steps at a constant 1e-3, its validation curve picks the step
#    where accuracy stopped rising, and the final run trains that many steps on all the groups.
records="$RECORDS/ucf101-s1"
runs="$OUT/runs/s1"
fuse=(--set data.records="$records" --set data.cache_decoded=true --set train.lr_drops=
      --set fusion.spatial_run="$runs/s_d05_2400" --set fusion.temporal_run="$runs/t_d05_4800")
curve_run="$runs/conv_fusion_fold0"
if [ ! -f "$curve_run/validation.json" ]; then
  $PY -m tfx_models.train --config tfx_models/experiments/demo_conv_fusion.py --run_dir "$curve_run" "${fuse[@]}" \
      --set data.folds=3 --set data.holdout_fold=0 --set train.steps=2000 --set train.checkpoint_every=200 \
      --set train.keep_checkpoints=20 | tail -1
  $PY -m tfx_models.validate --run "$curve_run" | tail -1
fi
fuse_steps=$($PY -c "import json; print(json.load(open('$curve_run/validation.json'))['decision']['step'])")
fused="$runs/conv_fusion"
[ -f "$fused/checkpoints/ckpt-$fuse_steps.manifest.json" ] || $PY -m tfx_models.train \
    --config tfx_models/experiments/demo_conv_fusion.py --run_dir "$fused" "${fuse[@]}" \
    --set train.steps="$fuse_steps" --set train.checkpoint_every="$fuse_steps" | tail -1
eval_dir="$OUT/eval/s1/conv_fusion"
[ -f "$eval_dir/results.json" ] || $PY -m tfx_models.evaluate --run "$fused" --out "$eval_dir" \
    --num_frames "$NUM_FRAMES" --crops "$CROPS" --no_svm

$PY -m results.findings --root "$OUT"
