#!/usr/bin/env bash
# Simonyan & Zisserman's Table 2 (multi-task learning of the temporal net) on the synthetic pair of
# datasets, three splits. Per split: ingest both sets (DIS flow, 112 px), then
# train demo_temporal five ways (STEPS each, seed = split):
#   ucf_only        on the UCF-like set alone
#   hmdb_only       on the HMDB-like set alone
#   hmdb_finetuned  on the HMDB-like set, its tower initialised from ucf_only (model.init_run)
#   hmdb_plus_ucf   on the HMDB-like set plus the UCF-like classes it lacks (data.extra_records)
#   multitask       one tower, a head per set, on both (data.records=UCF,HMDB)
# and score each HMDB-like run (multitask: its HMDB head) on the HMDB-like test videos, and
# ucf_only and multitask's UCF head on the UCF-like ones (NUM_FRAMES x CROPS per video).
# Usage: OUT=out/multitask STEPS=800 results/multitask_table.sh   (RECORDS: a folder that already
# holds <dataset>-s<split> record dirs ingested this way, e.g. the paper table's; FLOW: the ingest's
# flow method; ROWS: a subset of the five runs, e.g. "hmdb_only multitask")
set -euo pipefail
OUT=${OUT:-out/multitask}
STEPS=${STEPS:-800}
FLOW=${FLOW:-dis}
ROWS=${ROWS:-ucf_only hmdb_only hmdb_finetuned hmdb_plus_ucf multitask}
source "$(dirname "$0")/results_env.sh"

for split in $SPLITS; do
  for ds in ucf101 hmdb51; do
    [ -f "$RECORDS/$ds-s$split/summary.json" ] || $PY -m beam_pipelines.ingest --format $ds \
        --root "$SYNTH/$ds" --split "$split" --output "$RECORDS/$ds-s$split" --flow "$FLOW" \
        --size 112 --num_shards 2 > /dev/null
  done
  ucf="$RECORDS/ucf101-s$split" hmdb="$RECORDS/hmdb51-s$split" runs="$OUT/runs/s$split"
  train() {  # name, overrides...
    local name=$1; shift
    [[ " $ROWS " == *" $name "* ]] || return 0
    $PY -m tfx_models.train --config tfx_models/experiments/demo_temporal.py --run_dir "$runs/$name" \
        --set train.steps="$STEPS" --set train.seed="$split" "${EXTRA[@]}" "$@" | tail -1
  }
  train ucf_only --set data.records="$ucf"
  train hmdb_only --set data.records="$hmdb"
  train hmdb_finetuned --set data.records="$hmdb" --set model.init_run="$runs/ucf_only"
  train hmdb_plus_ucf --set data.records="$hmdb" --set data.extra_records="$ucf"
  train multitask --set data.records="$ucf,$hmdb"
  score() {  # dataset, records, run
    [[ " $ROWS " == *" $3 "* ]] || return 0
    [ -f "$OUT/eval/$1/$3/s$split/results.json" ] || $PY -m tfx_models.evaluate --temporal "$runs/$3" \
        --records "$2" --out "$OUT/eval/$1/$3/s$split" --num_frames "$NUM_FRAMES" --crops "$CROPS" --no_svm > /dev/null
  }
  for run in hmdb_only hmdb_finetuned hmdb_plus_ucf multitask; do score hmdb51 "$hmdb" $run; done
  for run in ucf_only multitask; do score ucf101 "$ucf" $run; done
done
$PY -m results.multitask_table --eval "$OUT/eval" | tee "$OUT/table.md"
