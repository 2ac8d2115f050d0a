#!/usr/bin/env bash
# Park et al.'s (WACV 2016) poster tables on the synthetic benchmark: feature amplification,
# multiplicative fusion, both together (and the conv fusion of Feichtenhofer et al. as a row),
# with recall by cue. Per dataset (UCF-like and HMDB-like, split 1): ingest (DIS flow), train a
# spatial and a temporal stream from scratch (STEPS), then from those two runs the amplified
# spatial net with the flow gate and with the learned gate, m-fusion at conv5 and at fc7, and a
# conv fusion (FUSE_STEPS each), and score them all (NUM_FRAMES x CROPS per video).
# Finished runs are reused: training a finished run dir again only reloads it.
# Usage: OUT=out/amplification STEPS=1500 FUSE_STEPS=300 results/amplification_table.sh
set -euo pipefail
OUT=${OUT:-out/amplification}
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-1500}
FUSE_STEPS=${FUSE_STEPS:-300}
SYNTH=${SYNTH:-out/small/synth}
PROFILE=${PROFILE:-small}
DATASETS=${DATASETS:-ucf101 hmdb51}
NUM_FRAMES=${NUM_FRAMES:-25}
CROPS=${CROPS:-10}
SIZE=${SIZE:-112}
# Extra overrides for every training run (the smoke test shrinks crops and widths here).
read -r -a EXTRA <<< "${EXTRA_SETS:-}"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
[ -f "$SYNTH/benchmark.json" ] || $PY -m beam_pipelines.synth --out "$SYNTH" --seed 0 --profile "$PROFILE"

train() {  # train RUN_DIR CONFIG STEPS [--set ...]
  local run=$1 config=$2 steps=$3; shift 3
  $PY -m tfx_models.train --config "tfx_models/experiments/$config.py" --run_dir "$run" \
      --set data.records="$records" --set train.steps="$steps" "${EXTRA[@]}" "$@" | tail -1
}

runs_args=()
for ds in $DATASETS; do
  records="$OUT/records/$ds"
  [ -f "$records/summary.json" ] || $PY -m beam_pipelines.ingest --format "$ds" --root "$SYNTH/$ds" --split 1 \
      --output "$records" --flow dis --size "$SIZE" --num_shards 2 > /dev/null
  runs="$OUT/runs/$ds"
  train "$runs/spatial" demo_spatial "$STEPS"
  train "$runs/temporal" demo_temporal "$STEPS"
  streams=(--set fusion.spatial_run="$runs/spatial" --set fusion.temporal_run="$runs/temporal")
  train "$runs/amplified_flow" demo_amplified "$FUSE_STEPS" --set fusion.spatial_run="$runs/spatial"
  train "$runs/amplified_learned" demo_amplified "$FUSE_STEPS" --set amplification.gate=learned "${streams[@]}"
  train "$runs/m_fusion_conv5" demo_m_fusion "$FUSE_STEPS" --set fusion.layer=conv5 "${streams[@]}"
  train "$runs/m_fusion_fc7" demo_m_fusion "$FUSE_STEPS" --set fusion.layer=fc7 "${streams[@]}"
  train "$runs/m_fusion_conv5_frozen" demo_m_fusion_frozen "$FUSE_STEPS" --set fusion.layer=conv5 "${streams[@]}"
  train "$runs/m_fusion_fc7_frozen" demo_m_fusion_frozen "$FUSE_STEPS" --set fusion.layer=fc7 "${streams[@]}"
  train "$runs/conv_fusion" demo_conv_fusion "$FUSE_STEPS" --set fusion.keep_temporal=true "${streams[@]}"
  runs_args+=(--runs "$runs")
done
$PY -m results.amplification_table "${runs_args[@]}" --out "$OUT/eval" --num_frames "$NUM_FRAMES" --crops "$CROPS"
