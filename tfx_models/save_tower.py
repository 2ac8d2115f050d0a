"""python -m tfx_models.save_tower --run RUN --out FILE.weights.h5: a spatial run's tower as a weights file."""
import sys

from tfx_models import cli
from tfx_models.export.tower import main

if __name__ == "__main__":
    sys.exit(cli.run(main))
