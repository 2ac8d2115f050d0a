# Sourced by the results scripts after they set OUT: the settings every one of them takes from
# the environment, and the benchmark render they start from (rendered once, then reused).
PY=${PY:-.venv/bin/python}
SPLITS=${SPLITS:-1 2 3}
SYNTH=${SYNTH:-out/small/synth}
PROFILE=${PROFILE:-small}  # of the benchmark render (tiny for a smoke run)
RECORDS=${RECORDS:-$OUT/records}
NUM_FRAMES=${NUM_FRAMES:-25}
CROPS=${CROPS:-10}
# Extra --set overrides for every training run (e.g. smaller crops and widths for a smoke run).
read -r -a EXTRA <<< "${EXTRA_SETS:-}"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
[ -f "$SYNTH/benchmark.json" ] || $PY -m beam_pipelines.synth --out "$SYNTH" --seed 0 --profile "$PROFILE" > /dev/null
