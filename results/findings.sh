#!/usr/bin/env bash
# The findings table's runs (issue 27) on the results profile, split 1 (630 UCF-like test
# videos), then the table. Resumable: finished runs and evaluations are skipped.
# Usage: OUT=out/findings results/findings.sh
set -euo pipefail
export OUT=${OUT:-out/findings} PROFILE=results SPLITS=1
export SYNTH=${SYNTH:-$OUT/synth}
cd "$(dirname "$0")/.."
# The streams: the recipe's spatial (two budgets) and temporal trials, with late fusion.
TRIALS="s_d05_2400 s_d05_1200 t_d05_4800" results/recipe_trials.sh
${PY:-.venv/bin/python} -m results.findings --root "$OUT"
