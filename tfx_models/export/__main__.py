"""python -m tfx_models.export --run_dir RUN --base DIR --name NAME: a run as a TF Serving SavedModel (docs/serving.md)."""
import sys

from tfx_models import cli
from tfx_models.export.saved_model import main

sys.exit(cli.run(main))
