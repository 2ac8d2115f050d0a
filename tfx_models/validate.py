"""python -m tfx_models.validate --run RUN: a cross-fitted run's checkpoints on its held-out groups (docs/training.md)."""
import sys

from tfx_models import cli
from tfx_models.evaluation.validation import main

if __name__ == "__main__":
    sys.exit(cli.run(main))
