#!/usr/bin/env bash
# docs/siamese.md's Siamese table: is an action recognised from a viewpoint the labels never came from?
# On the synthetic multi-view set: ingest both views together (the pairs) and each view alone (the
# tests), then train
#   view0_softmax   a spatial net, softmax on view-0 labels only
#   siamese         the Siamese net, softmax on view-0 labels only + contrastive loss on pairs
#   both_softmax    a spatial net, softmax on the labels of both views (the upper bound)
# and score each on the view-1 and the view-0 test videos (25 frames x 10 crops), cross-view
# retrieval (each view-1 test frame's nearest view-0 frame: the same clip?) and recall by cue.
# Usage: OUT=out/siamese STEPS=1000 results/siamese_table.sh   (STAGES=check: only the view check,
# i.e. ingest and view0_softmax on both views). Resumable: finished runs and scores are reused.
set -euo pipefail
OUT=${OUT:-out/siamese}
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-1000}
PROFILE=${PROFILE:-small}
SYNTH=${SYNTH:-$OUT/synth}
NUM_FRAMES=${NUM_FRAMES:-25}
CROPS=${CROPS:-10}
STAGES=${STAGES:-all}
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
[ -f "$SYNTH/benchmark.json" ] || $PY -m beam_pipelines.synth --out "$SYNTH" --seed 0 --profile "$PROFILE" --multiview

# One manifest per record dir; a manifest's file name is its dataset's name.
mkdir -p "$OUT/manifests"
for selection in all 0 1; do
  name=$([ $selection = all ] && echo multiview || echo "multiview_view$selection")
  awk -F, -v OFS=, -v dir="$(cd "$SYNTH/multiview" && pwd)" -v view=$selection \
      'NR == 1 { print; next } view == "all" || $5 == view { $1 = dir "/" $1; print }' \
      "$SYNTH/multiview/manifest.csv" > "$OUT/manifests/$name.csv"
  [ -f "$OUT/records/$name/summary.json" ] || $PY -m beam_pipelines.ingest --format csv \
      --manifest "$OUT/manifests/$name.csv" --output "$OUT/records/$name" --flow dis_ultrafast \
      --size 112 --num_shards 2 > /dev/null
done

train() {  # name, records, overrides...
  local name=$1 records=$2; shift 2
  [ -f "$OUT/runs/$name/checkpoints/ckpt-$STEPS.manifest.json" ] || $PY -m tfx_models.train \
      --config tfx_models/experiments/siamese_multiview.py --run_dir "$OUT/runs/$name" \
      --set data.records="$records" --set train.steps="$STEPS" "$@" | tail -1
}
train view0_softmax "$OUT/records/multiview_view0" --set model.kind=stream
runs=(view0_softmax)
if [ "$STAGES" != check ]; then
  train siamese "$OUT/records/multiview" --set siamese.labelled_views=0
  train both_softmax "$OUT/records/multiview" --set model.kind=stream
  runs+=(siamese both_softmax)
fi
for run in "${runs[@]}"; do
  for view in 0 1; do
    [ -f "$OUT/eval/$run/view$view/results.json" ] || $PY -m tfx_models.evaluate --run "$OUT/runs/$run" \
        --records "$OUT/records/multiview_view$view" --out "$OUT/eval/$run/view$view" \
        --num_frames "$NUM_FRAMES" --crops "$CROPS" --no_svm > /dev/null
  done
done
$PY -m results.siamese_table --out "$OUT" --runs "${runs[@]}" | tee "$OUT/table.md"
