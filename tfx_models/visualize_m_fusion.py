"""python -m tfx_models.visualize_m_fusion --run RUN --out PNG: what an m-fusion run's product did (docs/amplification.md)."""
import sys

from tfx_models import cli
from tfx_models.evaluation.m_fusion_pictures import run

if __name__ == "__main__":
    sys.exit(cli.run(run))
