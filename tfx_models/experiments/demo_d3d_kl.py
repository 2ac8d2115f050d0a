"""Demo scale of d3d_kl.py (D3D with tau^2 x KL at tau 2): demo_d3d_teacher's DEMO_SCALE."""
from tfx_models.config import override
from tfx_models.experiments.d3d_kl import CONFIG as PAPER_SCALE
from tfx_models.experiments.demo_d3d_teacher import DEMO_SCALE

CONFIG = override(PAPER_SCALE, ["name=demo_d3d_kl", *DEMO_SCALE])
