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

# The rows below are scored on a cheaper protocol, 25 frames x the centre crop: on the streams,
# their fusions and conv fusion it gives the accuracies and the ranking of 25 x 10 (docs/findings.md).
TRAIN_SETS=(--set data.cache_decoded=true)
. results/resumable.sh   # train and score, each skipped when done
score conv_fusion_25x1 --run "$fused" --no_svm

# 3. SVM fusion against averaging (Simonyan & Zisserman): one evaluation, the SVM fitted on the
#    streams' scores of the training videos (5 frames x centre crop each), and a second SVM on their
#    out-of-fold scores (the fusion tables' baseline): each training video scored by a copy of its
#    stream trained without its third of the groups, at the stream's own recipe and budget.
fold_runs=()
for stream in s_d05_2400:demo_spatial:2400 t_d05_4800:demo_temporal:4800; do
  IFS=: read -r name config steps <<< "$stream"
  for k in 0 1 2; do
    CHECKPOINT_EVERY=400 train "${name}_fold$k" "$config" "$steps" --set data.records="$records" --set data.folds=3 \
        --set data.holdout_fold=$k
    fold_runs+=(--svm_fold_run "$runs/${name}_fold$k")
  done
done
score streams_25x1_svm_oof --spatial "$runs/s_d05_2400" --temporal "$runs/t_d05_4800" "${fold_runs[@]}" \
    --svm_frames 5 --svm_crops 1

# 4. Feichtenhofer et al.'s ablations, each fusion at conv fusion's validated budget and constant rate:
#    fusion at ReLU3 (Table 2), and over T=5 snippets 3D conv + 3D pooling against 2D (Table 3),
#    both T=5 rows at half that budget (a T=5 step costs five T=1 steps; the curve was 98.8% at 800).
train conv_fusion_conv3 demo_conv_fusion "$fuse_steps" "${fuse[@]}" --set fusion.layer=conv3
score conv_fusion_conv3 --run "$runs/conv_fusion_conv3" --no_svm
for mode in 2d_conv_2d_pool 3d_conv_3d_pool; do
  train "T5_$mode" demo_conv_fusion $((fuse_steps / 2)) "${fuse[@]}" --set data.snippets=5 --set fusion.mode=$mode
  score "T5_$mode" --run "$runs/T5_$mode" --no_svm
done

#    The rest of Feichtenhofer et al.'s Tables 1-3 at the same budgets: the other fusion types at
#    ReLU5, conv fusion at ReLU4, at FC6 and with the temporal tower kept, and T=5 2D conv + 3D
#    pooling. results.fusion_tables reads them through a folder of links in its own layout
#    ($OUT/fusion: the streams, the late fusions scored with the SVM, one folder per fused run).
for type in sum max concat bilinear; do  # (the measured initialisation is conv fusion's own)
  train "${type}_conv5" demo_conv_fusion "$fuse_steps" "${fuse[@]}" --set fusion.type=$type --set fusion.init=fixed
done
for layer in conv4 fc6; do
  train "conv_fusion_$layer" demo_conv_fusion "$fuse_steps" "${fuse[@]}" --set fusion.layer=$layer
done
train conv_fusion_kept demo_conv_fusion "$fuse_steps" "${fuse[@]}" --set fusion.keep_temporal=true
train T5_2d_conv_3d_pool demo_conv_fusion $((fuse_steps / 2)) "${fuse[@]}" --set data.snippets=5 \
    --set fusion.mode=2d_conv_3d_pool
fusion="$OUT/fusion"
link_run() {  # its name in results.fusion_tables' layout, our run name
  mkdir -p "$fusion/runs/s1"
  ln -sfn "$(realpath "$runs/$2")" "$fusion/runs/s1/$1"
}
link() {  # its name there, our run name, our evaluation name
  link_run "$1" "$2"
  mkdir -p "$fusion/eval/$1"
  ln -sfn "$(realpath "$OUT/eval/s1/$3")" "$fusion/eval/$1/s1"
}
link_run spatial s_d05_2400
link_run temporal t_d05_4800
mkdir -p "$fusion/eval/late"
ln -sfn "$(realpath "$OUT/eval/s1/streams_25x1_svm_oof")" "$fusion/eval/late/s1"
for name in sum_conv5 max_conv5 concat_conv5 bilinear_conv5 conv_fusion_conv4 conv_fusion_fc6 conv_fusion_kept \
    T5_2d_conv_3d_pool; do
  score "$name" --run "$runs/$name" --no_svm
done
for pair in conv_conv5:conv_fusion conv_conv3:conv_fusion_conv3 conv_conv4:conv_fusion_conv4 \
    conv_fc6:conv_fusion_fc6 conv_conv5_kept:conv_fusion_kept sum_conv5:sum_conv5 max_conv5:max_conv5 \
    concat_conv5:concat_conv5 bilinear_conv5:bilinear_conv5 T5_2d_conv_2d_pool:T5_2d_conv_2d_pool \
    T5_2d_conv_3d_pool:T5_2d_conv_3d_pool T5_3d_conv_3d_pool:T5_3d_conv_3d_pool; do
  run=${pair#*:}
  link "${pair%%:*}" "$run" "$([ "$run" = conv_fusion ] && echo conv_fusion_25x1 || echo "$run")"
done
$PY -m results.fusion_tables --out "$fusion" > "$fusion/tables.md"

# 5. Park et al.: the flow-gated amplified spatial net, and m-fusion at conv5 and fc7 trained through
#    the product, each from the recipe's streams at conv fusion's budget; the poster's table from them.
park="$runs/park"
mkdir -p "$park"
ln -sfn "$(realpath "$runs/s_d05_2400")" "$park/spatial"
ln -sfn "$(realpath "$runs/t_d05_4800")" "$park/temporal"
train park/amplified_flow demo_amplified "$fuse_steps" --set data.records="$records" --set train.lr_drops= \
    --set fusion.spatial_run="$runs/s_d05_2400"
for layer in conv5 fc7; do
  train "park/m_fusion_$layer" demo_m_fusion "$fuse_steps" "${fuse[@]}" --set fusion.layer=$layer
done
#    The poster table's other rows: the learned gate, m-fusion with both towers frozen (the
#    ablation) and conv fusion with the temporal tower kept (step 4's run).
train park/amplified_learned demo_amplified "$fuse_steps" "${fuse[@]}" --set amplification.gate=learned
for layer in conv5 fc7; do
  train "park/m_fusion_${layer}_frozen" demo_m_fusion_frozen "$fuse_steps" "${fuse[@]}" --set fusion.layer=$layer
done
ln -sfn "$(realpath "$runs/conv_fusion_kept")" "$park/conv_fusion"
# The amplified net's control: the spatial net trained as many more steps at the same rate
# without the gate (its tower from the recipe's spatial run, every layer trainable, a fresh
# classifier).
train s_continued demo_spatial "$fuse_steps" --set data.records="$records" --set train.lr_drops= \
    --set train.learning_rate=1e-3 --set model.init_run="$runs/s_d05_2400"
score s_continued --spatial "$runs/s_continued" --no_svm
park_table="$OUT/eval/s1/park/amplification_tables.json"  # made again when a run is newer
if [ ! -f "$park_table" ] || [ -n "$(find -L "$park" -name '*.manifest.json' -newer "$park_table")" ]; then
  $PY -m results.amplification_table --runs "$park" --out "$OUT/eval/s1/park" "${cheap[@]}" | tail -1
fi

# 6. The Siamese multi-view net against softmax on view-0 labels, on the unseen view: a multi-view
#    render of the results profile (its own folder), each run at the spatial recipe's 2400 steps.
SYNTH="$OUT/siamese/synth" OUT="$OUT/siamese" PROFILE=results STEPS=2400 NUM_FRAMES=25 CROPS=1 \
    results/siamese_table.sh | tail -1

# 7. Simonyan & Zisserman's Table 1a: the spatial net fine-tuned from the pre-training substitute
#    against training from scratch and training its last layer only, each at the recipe's spatial
#    budget, at dropout 0.5 and 0.9.
OUT="$OUT/pretrain" RECORDS="$RECORDS" STEPS=2400 DROPOUTS="0.5 0.9" NUM_FRAMES=25 CROPS=1 \
    EXTRA_SETS="--set data.cache_decoded=true" results/pretrain_table.sh | tail -1
#    At dropout 0.9 fine-tuning again, from 1e-3 (the paper's text starts it at 1e-2): the same
#    pre-trained tower, the from-scratch run linked from above.
ft="$OUT/pretrain_ft_lr_1e-3"
mkdir -p "$ft/runs" "$ft/eval"
ln -sfn "$(realpath "$OUT/pretrain/runs/scratch_d0.9")" "$ft/runs/scratch_d0.9"
ln -sfn "$(realpath "$OUT/pretrain/eval/scratch_d0.9")" "$ft/eval/scratch_d0.9"
WEIGHTS="$OUT/pretrain/pretrain_tower.weights.h5" OUT="$ft" RECORDS="$RECORDS" STEPS=2400 DROPOUTS=0.9 FT_LR=1e-3 \
    NUM_FRAMES=25 CROPS=1 EXTRA_SETS="--set data.cache_decoded=true" results/pretrain_table.sh | tail -1

# 8. Simonyan & Zisserman's Table 2: the temporal net on the HMDB-like set alone against multi-task
#    learning with the UCF-like set, fine-tuning from the UCF-like net and adding the UCF-like
#    classes, each at the recipe's temporal budget (4800 steps).
OUT="$OUT/multitask" RECORDS="$RECORDS" STEPS=4800 FLOW=dis_medium NUM_FRAMES=25 CROPS=1 \
    EXTRA_SETS="--set data.cache_decoded=true" results/multitask_table.sh | tail -1

#    The same comparison when the multi-task net trains twice as long, so that each head sees as
#    many batches of its own set as the single-task net (the input draws each set with p = 1/2),
#    and at half the learning rate (the summed loss gives the shared tower about twice a
#    single-task net's gradient).
mt="$OUT/multitask"
multitask() {  # run name, steps, overrides...
  local name=$1 steps=$2; shift 2
  [ -f "$mt/runs/s1/$name/checkpoints/ckpt-$steps.manifest.json" ] || $PY -m tfx_models.train \
      --config tfx_models/experiments/demo_temporal.py --run_dir "$mt/runs/s1/$name" --set train.seed=1 \
      --set data.records="$RECORDS/ucf101-s1,$RECORDS/hmdb51-s1" --set train.steps="$steps" \
      --set train.checkpoint_every=800 --set data.cache_decoded=true "$@" | tail -1
  for ds in hmdb51 ucf101; do
    [ -f "$mt/eval/$ds/$name/s1/results.json" ] || $PY -m tfx_models.evaluate --temporal "$mt/runs/s1/$name" \
        --records "$RECORDS/$ds-s1" --out "$mt/eval/$ds/$name/s1" "${cheap[@]}" --no_svm | tail -1
  done
}
multitask multitask_9600 9600
multitask multitask_half_rate 4800 --set train.learning_rate=5e-3

# 9. Stroud et al.'s D3D table: the flow teacher, the RGB student, D3D (MSE and KL), the auxiliary-flow
#    student, and from the trained student D3D against its control trained as long without a teacher,
#    each run 1200 steps (the continued ones 600), scored on 10 clips a video.
mkdir -p "$OUT/d3d/records"
ln -sfn "$(realpath "$records")" "$OUT/d3d/records/ucf101-s1"
#    Lambda: D3D (MSE) from scratch at four more weights (the rows above use 1), each against the
#    student. The finished runs are reused; every run is evaluated again into the one table.
weights="0.1 0.3 3 10"
$PY -c "import json, sys; sys.exit(json.load(open(sys.argv[1]))['mse_weights'] != [float(w) for w in sys.argv[2:]])" \
    "$OUT/d3d/d3d_table.json" $weights 2>/dev/null || $PY -m results.d3d_table --out "$OUT/d3d" --synth "$SYNTH" \
    --splits 1 --steps 1200 --mse_weights $weights --set data.cache_decoded=true | tail -1

#    Which lambda the findings use is chosen without the test videos: each weight's D3D again
#    without fold 0 of 3 of the training groups (the same teacher and budget), scored on those 420
#    held-out videos (5 clips x 1 crop) at its last step (results.d3d_lambda: the best, ties to the
#    smaller weight).
val="$OUT/d3d/lambda_validation" validated=()
for w in 1 $weights; do
  run="$val/lambda_$w"
  [ -f "$run/checkpoints/ckpt-1200.manifest.json" ] || $PY -m tfx_models.train \
      --config tfx_models/experiments/demo_d3d_mse.py --run_dir "$run" --set data.records="$records" \
      --set train.steps=1200 --set train.seed=1 --set train.keep_checkpoints=1 \
      --set distill.teacher_run="$OUT/d3d/runs/s1/teacher" --set distill.weight="$w" \
      --set data.folds=3 --set data.holdout_fold=0 --set data.cache_decoded=true | tail -1
  [ -f "$run/validation.json" ] || $PY -m tfx_models.validate --run "$run" --num_frames 5 --crops 1 | tail -1
  validated+=(--run "$w=$run")
done
$PY -m results.d3d_lambda "${validated[@]}" --out "$OUT/d3d/lambda.json" > /dev/null

# 10. Stroud et al.'s Sect. 5 probes: does a layer of the RGB nets above hold motion? A flow decoder
#     on mixed_3b (frozen backbone: conv and linear decoders) and on conv2c_gate (fine-tuned), scored
#     on 2 clips of each test video against the stored flow and the render's true flow; then on
#     mixed_3b again with the camera's pan removed from the targets and the truth (--pan remove),
#     including D3D at the chosen lambda.
d3d_runs="$OUT/d3d/runs/s1" probes="$OUT/d3d/probes" table=()
probe() {  # run, layer, design, pan (keep|remove), steps, extra arguments...
  local run=$1 layer=$2 design=$3 pan=$4 steps=$5; shift 5
  local out="$probes/$run-$layer-$design$([ "${1:-}" = --finetune ] && echo -finetuned)$([ $pan = remove ] && echo -nopan)"
  [ -f "$out/probe.json" ] || $PY -m results.flow_probe --run "$d3d_runs/$run" --layer "$layer" --design "$design" \
      --records "$records" --truth "$SYNTH/groundtruth/ucf101" --out "$out" --steps "$steps" --pan "$pan" "$@" \
      > /dev/null
  table+=(--probe "${ROWS[$run]}=$out")
}
weight=$($PY -c "import json, sys; print(f\"{json.load(open(sys.argv[1]))['weight']:g}\")" "$OUT/d3d/lambda.json")
chosen=d3d_mse_lambda_$weight
[ "$weight" = 1 ] && chosen=d3d_mse
declare -A ROWS=([student]="S3D-G student" [d3d_mse]="D3D (MSE)" [aux]="aux-flow student")
[ $chosen = d3d_mse ] || ROWS[$chosen]="D3D (MSE, lambda $weight)"
for run in student d3d_mse aux; do probe $run mixed_3b conv keep 1000; done
for run in student d3d_mse; do probe $run mixed_3b linear keep 1000; done
for run in student d3d_mse aux; do probe $run conv2c_gate conv keep 1000 --finetune --learning_rate 3e-3; done
for run in $(echo student d3d_mse aux $chosen | tr ' ' '\n' | awk '!seen[$0]++'); do
  probe $run mixed_3b conv remove 1000
done
$PY -m results.flow_probe_table "${table[@]}" --out "$probes/table.md" > /dev/null

# 11. Is the teacher the weak link? D3D again from a flow teacher trained four times as long (4800
#     steps), at lambda 1 and at the chosen lambda (the findings' last rows). The runs that do not
#     read the teacher are step 9's, linked, so every comparison with them is paired on the same
#     predictions.
strong="$OUT/d3d_teacher4800"
mkdir -p "$strong/records" "$strong/runs/s1"
ln -sfn "$(realpath "$records")" "$strong/records/ucf101-s1"
for run in student student_continued aux; do ln -sfn "$(realpath "$d3d_runs/$run")" "$strong/runs/s1/$run"; done
$PY -c "import json, sys; sys.exit(json.load(open(sys.argv[1]))['mse_weights'] != [float(sys.argv[2])])" \
    "$strong/d3d_table.json" "$weight" 2>/dev/null || $PY -m results.d3d_table --out "$strong" --synth "$SYNTH" \
    --splits 1 --steps 1200 --teacher_steps 4800 --mse_weights "$weight" --set data.cache_decoded=true | tail -1

# 12. The D3D rows vary between runs by more than their gaps (a re-run of step 11 trained a 91.3%
#     student where one had reached 57.8%), so the three claims at the chosen lambda are decided
#     again over four training seeds from step 11's teacher. Seed 1 is step 11's runs, linked.
seeds="$OUT/d3d_seeds"
mkdir -p "$seeds/runs/seed1"
for run in student aux "d3d_mse_lambda_$weight"; do ln -sfn "$(realpath "$strong/runs/s1/$run")" "$seeds/runs/seed1/$run"; done
[ -f "$seeds/d3d_seeds.json" ] || $PY -m results.d3d_seeds --out "$seeds" --records "$records" \
    --teacher_run "$strong/runs/s1/teacher" --teacher_steps 4800 --seeds 1 2 3 4 --mse_weight "$weight" \
    --set data.cache_decoded=true | tail -1

$PY -m results.findings --root "$OUT"
