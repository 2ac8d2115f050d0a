"""python -m tfx_models.visualize_gate --run RUN --out PNG: where an amplified run's gate looks (docs/amplification.md)."""
import sys

from tfx_models import cli
from tfx_models.evaluation.gate_pictures import run

if __name__ == "__main__":
    sys.exit(cli.run(run))
