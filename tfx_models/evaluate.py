"""python -m tfx_models.evaluate --spatial RUN --temporal RUN --out DIR: the 25 x 10 protocol (docs/evaluation.md)."""
import sys

from tfx_models import cli
from tfx_models.evaluation.protocol import main

if __name__ == "__main__":
    sys.exit(cli.run(main))
