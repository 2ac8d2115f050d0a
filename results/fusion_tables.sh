#!/usr/bin/env bash
# Feichtenhofer, Pinz & Zisserman's (CVPR 2016) Tables 1-3 on the synthetic UCF-like set, with
# late fusion (averaging, SVM on training scores, SVM on out-of-fold scores) as the baseline.
# Per split (SPLITS): ingest (DIS flow, 112 px), train demo_spatial and demo_temporal (STEPS,
# seed = split) and FOLDS cross-fitted copies of each (data.folds, for the out-of-fold SVM), then
# from the two streams the five fusions at ReLU5 with the temporal tower cut (demo_conv_fusion,
# FUSE_STEPS): Table 1's main rows, scored on every split. On ABLATION_SPLIT only: conv fusion
# at conv3, conv4 and fc6 (Table 2), at conv5 with the temporal tower kept (the paper's final
# model), and over T=5 snippets with 2D pooling, 3D pooling, and 3D conv + 3D pooling (Table 3).
# Every run is scored on NUM_FRAMES x CROPS per test video; finished runs and scores are reused.
# Usage: OUT=out/fusion STEPS=800 FUSE_STEPS=300 results/fusion_tables.sh
#   (RECORDS: a folder that already holds ucf101-s<split> record dirs ingested this way)
set -euo pipefail
OUT=${OUT:-out/fusion}
STEPS=${STEPS:-800}
FUSE_STEPS=${FUSE_STEPS:-300}
FOLDS=${FOLDS:-3}
ABLATION_SPLIT=${ABLATION_SPLIT:-1}
source "$(dirname "$0")/results_env.sh"

for split in $SPLITS; do
  records="$RECORDS/ucf101-s$split" runs="$OUT/runs/s$split"
  [ -f "$records/summary.json" ] || $PY -m beam_pipelines.ingest --format ucf101 --root "$SYNTH/ucf101" \
      --split "$split" --output "$records" --flow dis --size 112 --num_shards 2 > /dev/null
  train() {  # name, config, steps, overrides...
    local name=$1 config=$2 steps=$3; shift 3
    $PY -m tfx_models.train --config "tfx_models/experiments/$config.py" --run_dir "$runs/$name" \
        --set data.records="$records" --set train.steps="$steps" --set train.seed="$split" "${EXTRA[@]}" "$@" \
        | tail -1
  }
  score() {  # name, evaluate arguments...
    local name=$1; shift
    [ -f "$OUT/eval/$name/s$split/results.json" ] || $PY -m tfx_models.evaluate "$@" --out "$OUT/eval/$name/s$split" \
        --num_frames "$NUM_FRAMES" --crops "$CROPS" > /dev/null
  }
  fold_runs=()
  for stream in spatial temporal; do
    train $stream demo_$stream "$STEPS"
    for ((k = 0; k < FOLDS; k++)); do
      train "${stream}_fold$k" demo_$stream "$STEPS" --set data.folds="$FOLDS" --set data.holdout_fold=$k
      fold_runs+=(--svm_fold_run "$runs/${stream}_fold$k")
    done
  done
  score late --spatial "$runs/spatial" --temporal "$runs/temporal" "${fold_runs[@]}" --svm_frames 5 --svm_crops 1
  streams=(--set fusion.spatial_run="$runs/spatial" --set fusion.temporal_run="$runs/temporal")
  fused=()
  for type in sum max concat conv bilinear; do  # only conv fusion has identity weights to measure
    fused+=("${type}_conv5|--set fusion.type=$type$([ $type = conv ] || echo ' --set fusion.init=fixed')")
  done
  if [ "$split" = "$ABLATION_SPLIT" ]; then
    for layer in conv3 conv4 fc6; do fused+=("conv_$layer|--set fusion.layer=$layer"); done
    fused+=("conv_conv5_kept|--set fusion.keep_temporal=true")
    for mode in 2d_conv_2d_pool 2d_conv_3d_pool 3d_conv_3d_pool; do
      fused+=("T5_$mode|--set data.snippets=5 --set fusion.mode=$mode")
    done
  fi
  for entry in "${fused[@]}"; do
    name=${entry%%|*}; overrides=${entry#*|}
    # shellcheck disable=SC2086
    train "$name" demo_conv_fusion "$FUSE_STEPS" "${streams[@]}" $overrides
    score "$name" --run "$runs/$name" --no_svm
  done
done
$PY -m results.fusion_tables --out "$OUT" | tee "$OUT/tables.md"
