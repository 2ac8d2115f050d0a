"""Demo scale of d3d_mse_from_student.py: demo_d3d_teacher's DEMO_SCALE, then half the demo's
steps at a tenth of its learning rate (--set model.init_run=<a demo_d3d_student run>)."""
from tfx_models.config import override
from tfx_models.experiments.d3d_mse_from_student import CONFIG as PAPER_SCALE
from tfx_models.experiments.demo_d3d_teacher import DEMO_SCALE

DEMO_CONTINUATION = ["train.steps=300", "train.learning_rate=0.005", "train.lr_drops=0.6"]
CONFIG = override(PAPER_SCALE, ["name=demo_d3d_mse_from_student", *DEMO_SCALE, *DEMO_CONTINUATION])
