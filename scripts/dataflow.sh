#!/usr/bin/env bash
# Run one of the Beam jobs (ingest, resplit, predict) on Google Cloud Dataflow.
#
#   scripts/dataflow.sh --project P --region R --bucket B --image IMAGE [--workers N] \
#       [--machine_type T] [--dry_run] -- JOB JOB-FLAGS...
#
#   scripts/dataflow.sh --project my-project --region europe-west4 --bucket my-bucket \
#       --image europe-west4-docker.pkg.dev/my-project/twostream/worker:2.77.0 --workers 40 \
#       -- ingest --format ucf101 --root gs://my-bucket/UCF-101 --split 1 \
#          --output gs://my-bucket/records/ucf101-s1 --num_shards 64
#
# Workers run IMAGE, built from the repo's Dockerfile (Beam's Python 3.11 SDK image with
# requirements.txt installed); the project's own code is staged with the job as an sdist
# (--setup_file), so a code change needs no new image. Job files go under gs://B/tmp and
# gs://B/staging. --dry_run builds the job and stages nothing: it prints the job's steps,
# container and the files it would stage (tests/test_dataflow.py runs it against a GCS
# emulator). docs/runners.md quotes this script.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

project= region= bucket= image= workers=10 machine_type=n2-standard-4 dry_run=
while [ $# -gt 0 ]; do
  case $1 in
    --project) project=$2; shift 2 ;;
    --region) region=$2; shift 2 ;;
    --bucket) bucket=${2#gs://}; bucket=${bucket%/}; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --machine_type) machine_type=$2; shift 2 ;;
    --dry_run) dry_run=1; shift ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "error: unknown flag $1 (the job's own flags go after --)" >&2; exit 2 ;;
  esac
done
job=${1:-}
case $job in
  ingest|resplit|predict) shift ;;
  *) echo "error: name the job after --: ingest, resplit or predict" >&2; exit 2 ;;
esac
for name in project region bucket image; do
  [ -n "${!name}" ] || { echo "error: --$name is required" >&2; exit 2; }
done

flags=(--runner=DataflowRunner --project="$project" --region="$region"
       --temp_location="gs://$bucket/tmp" --staging_location="gs://$bucket/staging"
       --sdk_container_image="$image" --sdk_location=container
       --setup_file="$PWD/pyproject.toml"
       --max_num_workers="$workers" --machine_type="$machine_type"
       --experiments=use_runner_v2)
[ -z "$dry_run" ] || flags+=(--dry_run=True --no_auth)
exec "$PY" -m "beam_pipelines.$job" "$@" "${flags[@]}"
