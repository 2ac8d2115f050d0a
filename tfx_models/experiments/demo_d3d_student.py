"""Demo scale of d3d_student.py (the RGB student without distillation): demo_d3d_teacher's DEMO_SCALE."""
from tfx_models.config import override
from tfx_models.experiments.d3d_student import CONFIG as PAPER_SCALE
from tfx_models.experiments.demo_d3d_teacher import DEMO_SCALE

CONFIG = override(PAPER_SCALE, ["name=demo_d3d_student", *DEMO_SCALE])
