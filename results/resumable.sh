# Sourced by the results scripts after results_env.sh, with `runs` set: the two steps every
# findings script repeats, each skipped when its output exists (so a script resumes where it
# stopped; a cut-off training run resumes from its newest checkpoint).
#   train NAME CONFIG STEPS [--set ...]   $runs/NAME from tfx_models/experiments/CONFIG.py, plus
#                                          TRAIN_SETS; a checkpoint every CHECKPOINT_EVERY steps
#                                          (default: only the last)
#   score NAME EVALUATE_ARGS...            $OUT/eval/s1/NAME at 25 frames x the centre crop
cheap=(--num_frames 25 --crops 1)
[ -v TRAIN_SETS ] || TRAIN_SETS=()
score() {
  local name=$1; shift
  [ -f "$OUT/eval/s1/$name/results.json" ] || $PY -m tfx_models.evaluate "$@" --out "$OUT/eval/s1/$name" \
      "${cheap[@]}" | tail -1
}
train() {
  local name=$1 config=$2 steps=$3; shift 3
  [ -f "$runs/$name/checkpoints/ckpt-$steps.manifest.json" ] || $PY -m tfx_models.train \
      --config "tfx_models/experiments/$config.py" --run_dir "$runs/$name" --set train.steps="$steps" \
      --set train.checkpoint_every="${CHECKPOINT_EVERY:-$steps}" "${TRAIN_SETS[@]}" "$@" | tail -1
}
