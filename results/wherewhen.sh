#!/usr/bin/env bash
# The findings that need the "wherewhen" set (issue 38): classes told apart only by which texture
# moves ("where") or by the order of two motions ("when"). Split 1: 2,000 test videos, 1,000 a
# class family. Every run follows the results profile's recipe and budgets (results/findings.sh);
# the fusions' budget is chosen on held-out training groups. Runs, in order:
#   1. render (profile wherewhen) and ingest split 1;
#   2. the spatial (2400 steps) and temporal (4800) streams, scored with averaging and the SVM;
#   3. FPZ (i): conv fusion at ReLU5 (budget from a held-out-fold curve);
#   4. FPZ (iii): T=5 3D conv + 3D pooling against 2D conv + 2D pooling, at half that budget;
#   5. Park: m-fusion at conv5 and fc7 against additive (sum) fusion at conv5, same budget, all
#      three training their towers through the fusion;
#   6. conv fusion at ReLU5 with its towers trained through it, as the m-fusion's are;
#   7. FPZ (ii): conv fusion at ReLU3, ReLU4 and FC6;
#   8. Stroud et al.: the flow teacher, the RGB student, D3D and the auxiliary-flow student
#      (results.d3d_table, 1200 steps a run, both students' weights at 1: neither is tuned),
#      on 96 px crops like the streams (the demo experiments' 64 px crop misses the objects).
# Resumable: a finished render, ingest, run or evaluation is skipped; a cut-off run resumes from
# its newest checkpoint. Then: python -m results.findings --root "$OUT" --table wherewhen.
# Usage: OUT=out/wherewhen results/wherewhen.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export OUT=${OUT:-out/wherewhen} PROFILE=wherewhen SPLITS=1
export SYNTH=${SYNTH:-$OUT/synth}
. results/results_env.sh

records="$RECORDS/wherewhen-s1"
[ -f "$records/dataset_info.json" ] || $PY -m beam_pipelines.ingest --format ucf101 --root "$SYNTH/wherewhen" \
    --split 1 --output "$records" --flow dis_medium --size 112 --num_shards 8 | tail -1
runs="$OUT/runs/s1"
# 4,000 training videos of 43-67 frames do not fit in memory decoded: each sample decodes its JPEGs.
TRAIN_SETS=(--set data.records="$records")
CHECKPOINT_EVERY=400
. results/resumable.sh   # train and score, each skipped when done

# 2. The streams, and their late fusions (averaging; the SVM on the training videos' scores).
train s_d05_2400 demo_spatial 2400
train t_d05_4800 demo_temporal 4800
score streams_svm --spatial "$runs/s_d05_2400" --temporal "$runs/t_d05_4800" --svm_frames 5 --svm_crops 1

# 3. Conv fusion's budget: a run without fold 0 of 3 of the training groups keeps a checkpoint every
#    200 steps at a constant 1e-3; its validation curve picks the step where accuracy stopped rising.
fuse=(--set train.lr_drops= --set fusion.spatial_run="$runs/s_d05_2400" --set fusion.temporal_run="$runs/t_d05_4800")
curve_run="$runs/conv_fusion_fold0"
if [ ! -f "$curve_run/validation.json" ]; then
  train conv_fusion_fold0 demo_conv_fusion 2000 "${fuse[@]}" --set data.folds=3 --set data.holdout_fold=0 \
      --set train.checkpoint_every=200 --set train.keep_checkpoints=20
  $PY -m tfx_models.validate --run "$curve_run" | tail -1
fi
fuse_steps=$($PY -c "import json; print(json.load(open('$curve_run/validation.json'))['decision']['step'])")
# The runs in the order of what they settle: FPZ (i) at ReLU5 first, then (iii), Park, then (ii).
layer_run() {
  train "conv_fusion_$1" demo_conv_fusion "$fuse_steps" "${fuse[@]}" --set fusion.layer=$1
  score "conv_fusion_$1" --run "$runs/conv_fusion_$1" --no_svm
}
layer_run conv5

# 4. Over T=5 snippets (a step costs five T=1 steps: half the budget), 3D conv + 3D pooling against 2D.
for mode in 2d_conv_2d_pool 3d_conv_3d_pool; do
  train "T5_$mode" demo_conv_fusion $((fuse_steps / 2)) "${fuse[@]}" --set data.snippets=5 --set fusion.mode=$mode
  score "T5_$mode" --run "$runs/T5_$mode" --no_svm
done

# 5. Park et al.: m-fusion at conv5 and fc7, and additive fusion at conv5 (a fixed sum), same budget.
for layer in conv5 fc7; do
  train "m_fusion_$layer" demo_m_fusion "$fuse_steps" "${fuse[@]}" --set fusion.layer=$layer
  score "m_fusion_$layer" --run "$runs/m_fusion_$layer" --no_svm
done
#    The m-fusion trains its towers through the product (demo_m_fusion), so the sum does too.
train sum_conv5 demo_conv_fusion "$fuse_steps" "${fuse[@]}" --set fusion.type=sum --set fusion.init=fixed \
    --set fusion.train_from_fusion=false
score sum_conv5 --run "$runs/sum_conv5" --no_svm

# 6. Conv fusion at ReLU5 on the where classes when its towers train too: the same fusion with its
#    towers trained through it, as the m-fusion's are (same budget and learning rate).
train conv_fusion_conv5_towers demo_conv_fusion "$fuse_steps" "${fuse[@]}" --set fusion.train_from_fusion=false
score conv_fusion_conv5_towers --run "$runs/conv_fusion_conv5_towers" --no_svm

# 7. FPZ (ii): the other fusion layers.
for layer in conv3 conv4 fc6; do layer_run $layer; done

# 8. D3D's table on these records (linked where results.d3d_table looks for them). The clip nets
#    crop 96 px of the 112 x 144 frames, as the streams do: the demo experiments' 64 px crop holds a
#    quarter of the frame, and the where classes' two objects sit near its left and right edges, so
#    at 64 px every clip net stayed at chance (the flow teacher 13.7%, 42.2% at 96 px).
d3d="$OUT/d3d_crop96"
mkdir -p "$d3d/records"
ln -sfn "$(realpath "$records")" "$d3d/records/ucf101-s1"
[ -f "$d3d/d3d_table.json" ] || $PY -m results.d3d_table --out "$d3d" --synth "$SYNTH" --splits 1 \
    --steps 1200 --set data.crop_size=96 | tail -1
