#!/usr/bin/env bash
# The README's `make demo`: render -> ingest -> train -> evaluate -> export -> serve -> predict.
# Every stage is a real job on the synthetic benchmark (its demo profile); outputs land in $OUT.
set -euo pipefail
OUT=${OUT:-out/demo}
PY=${PY:-.venv/bin/python}
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
SEED=${DEMO_SEED:-0}  # the benchmark's render seed, and the training runs' seed
# The demo's budget (10 minutes on 2 CPU cores) and its departures from the paper's recipe
# (docs/recipe.md#the-demo): the demo profile's more but shorter clips, 80 px crops of the
# 112 px records (the results scripts train the same experiment files at 96 px), each training
# video decoded once and held in memory, and fewer steps than the recipe's.
SPATIAL_STEPS=1200
TEMPORAL_STEPS=2400
SETS=(--set data.records="$OUT/records/ucf101" --set data.crop_size=80 --set data.cache_decoded=true
      --set train.seed="$SEED")
start=$(date +%s)
# TensorFlow 2.21 prints C++ start-up lines before absl logging is initialised (no
# environment variable silences them) in every process, Beam's workers included, and the
# workers add a few start-up warnings of their own. Drop exactly those lines from stderr.
NOISE='^[IWE]0000 |^WARNING: All log messages before absl|^To enable the following instructions|apitools not found|No semi_persistent_directory found|Logging handler created|Resource module is not available'
exec 2> >(grep -Eav --line-buffered "$NOISE" >&2)
stage() { printf '\n=== [%4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

stage "1/7 render the synthetic benchmark's UCF-like set (demo profile)"
[ -f "$OUT/synth/benchmark.json" ] || $PY -m beam_pipelines.synth --out "$OUT/synth" --seed "$SEED" --profile demo
$PY -m beam_pipelines.synth --classes | sed -n '1,/^$/p'

stage "2/7 ingest the UCF-101 layout (Beam, local runner, DIS medium flow)"
$PY -m beam_pipelines.ingest --format ucf101 --root "$OUT/synth/ucf101" --split 1 \
    --output "$OUT/records/ucf101" --flow dis_medium --size 112 --num_shards 2
$PY -m beam_pipelines.visualize --records "$OUT/records/ucf101" --subset test --index 0 \
    --out "$OUT/pictures/record_flow.png"

stage "3/7 train a spatial ($SPATIAL_STEPS steps) and a temporal stream ($TEMPORAL_STEPS steps), then fuse them at ReLU5 (conv fusion)"
$PY -m tfx_models.train --config tfx_models/experiments/demo_spatial.py "${SETS[@]}" \
    --set train.steps=$SPATIAL_STEPS --run_dir "$OUT/runs/spatial"
$PY -m tfx_models.train --config tfx_models/experiments/demo_temporal.py "${SETS[@]}" \
    --set train.steps=$TEMPORAL_STEPS --run_dir "$OUT/runs/temporal"
$PY -m tfx_models.train --config tfx_models/experiments/demo_conv_fusion.py "${SETS[@]}" \
    --set fusion.spatial_run="$OUT/runs/spatial" \
    --set fusion.temporal_run="$OUT/runs/temporal" --run_dir "$OUT/runs/conv_fusion"

stage "4/7 evaluate both streams, their late fusions (averaging, SVM) and the conv fusion"
$PY -m tfx_models.evaluate --spatial "$OUT/runs/spatial" --temporal "$OUT/runs/temporal" \
    --run "$OUT/runs/conv_fusion" --out "$OUT/eval" --num_frames 25 --crops 10 --svm_frames 5 --svm_crops 1

stage "5/7 export the two-stream model and the conv fusion for TF Serving"
rm -rf "$OUT/models"
$PY -m tfx_models.export --run_dir "$OUT/runs/spatial" --run_dir "$OUT/runs/temporal" \
    --base "$OUT/models" --name two_stream --version 1
$PY -m tfx_models.export --run_dir "$OUT/runs/conv_fusion" --base "$OUT/models" --name conv_fusion --version 1
# Every export runs in TensorFlow's own SavedModel runner (the C++ loader TF Serving uses),
# here on two held-out records through the in-graph record signature.
$PY - "$OUT" <<'PYEOF'
import glob, sys
import numpy as np, tensorflow as tf
out = sys.argv[1]
records = [r.numpy() for r in tf.data.TFRecordDataset(sorted(glob.glob(f"{out}/records/ucf101/test-*")))]
np.save(f"{out}/two_test_records.npy", np.array(records[:2], dtype=object), allow_pickle=True)
PYEOF
for export in "$OUT"/models/*/1; do
  echo "saved_model_cli run --dir $export --signature_def predict_records"
  "$(dirname "$PY")/saved_model_cli" run --dir "$export" --tag_set serve --signature_def predict_records \
      --inputs "records=$OUT/two_test_records.npy" 2>&1 | grep -A2 -E "output key (probabilities|top_k_classes):"
done

stage "6/7 serve both with the embedded TF-Serving-compatible server; classify one held-out video of every class over gRPC"
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$PY -m serving.server --port "$port" --rest_api_port 0 --model_config_file "$OUT/models/models.config" \
    > "$OUT/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
# Held-out videos of split 1, plus one empty file to show the dead-letter path.
$PY - "$OUT" <<'PYEOF'
import csv, os, sys
from beam_pipelines.datasets import load_entries
out = sys.argv[1]
test = [e for e in load_entries("ucf101", 1, root=f"{out}/synth/ucf101") if e.subset == "test"]
open(f"{out}/empty.avi", "w").close()
with open(f"{out}/predict_manifest.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["path"])
    # Absolute: a relative path in a manifest is taken from the manifest's folder.
    writer.writerows([[e.path] for e in test] + [[os.path.abspath(f"{out}/empty.avi")]])
PYEOF
for _ in $(seq 60); do
  [ "$(grep -c "serving model" "$OUT/server.log" 2>/dev/null)" -ge 2 ] && break; sleep 1
done
# The first held-out video of each class, through serving.client's own classify(): one gRPC
# client per model, 25 frames x 10 crops per video, as `python -m serving.client VIDEO` does.
$PY - "$OUT" "$port" <<'PYEOF'
import json, sys
from beam_pipelines.datasets import load_entries
from serving.client import GrpcTransport, classify
out, port = sys.argv[1], sys.argv[2]
counts, first = {}, {}
for e in load_entries("ucf101", 1, root=f"{out}/synth/ucf101"):
    if e.subset == "test":
        first.setdefault(e.label_name, e)
for model in ("two_stream", "conv_fusion"):
    transport = GrpcTransport(f"127.0.0.1:{port}", model)
    right = 0
    print(f"{model}:")
    for name, entry in sorted(first.items()):
        top = classify(entry.path, transport)["top"][0]
        right += top["class"] == name
        print(f"  {name:<14s} -> {top['class']:<14s} {top['score']:.2f}{'' if top['class'] == name else '  (wrong)'}")
    transport.close()
    print(f"  {right} of {len(first)} held-out videos (one per class) classified correctly")
    counts[model] = [right, len(first)]
with open(f"{out}/client.json", "w") as f:
    json.dump(counts, f)
PYEOF
kill $server; wait $server 2>/dev/null || true; trap - EXIT

stage "7/7 batch prediction over the held-out videos with Beam RunInference"
$PY -m beam_pipelines.predict --model_dir "$OUT/models/two_stream" \
    --manifest "$OUT/predict_manifest.csv" --output "$OUT/predict/two_stream" --num_frames 5 --crops 1

stage "done"
$PY -m results.demo_compare --out "$OUT" --seed "$SEED"
echo
cat <<TXT
What the demo did, and where its outputs are:
  synthetic benchmark (videos, ground-truth flow)  $OUT/synth
  contact sheet and ground-truth flow pictures     $OUT/synth/pictures/
  TFRecords + dataset_info.json + summary.json     $OUT/records/ucf101
  a record's frames next to its flow               $OUT/pictures/record_flow.png
  training runs (config, checkpoints, TensorBoard)  $OUT/runs/{spatial,temporal,conv_fusion}
  results table, confusion matrices, recall plots  $OUT/eval/results.md, $OUT/eval/*/
  SavedModel for TF Serving (+ models.config)      $OUT/models
  batch predictions                                $OUT/predict/
TXT
