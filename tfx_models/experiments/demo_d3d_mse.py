"""Demo scale of d3d_mse.py (D3D with the logit MSE): demo_d3d_teacher's DEMO_SCALE."""
from tfx_models.config import override
from tfx_models.experiments.d3d_mse import CONFIG as PAPER_SCALE
from tfx_models.experiments.demo_d3d_teacher import DEMO_SCALE

CONFIG = override(PAPER_SCALE, ["name=demo_d3d_mse", *DEMO_SCALE])
