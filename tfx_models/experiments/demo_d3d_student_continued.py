"""Demo scale of d3d_student_continued.py, the control of demo_d3d_mse_from_student.py."""
from tfx_models.config import override
from tfx_models.experiments.d3d_student_continued import CONFIG as PAPER_SCALE
from tfx_models.experiments.demo_d3d_mse_from_student import DEMO_CONTINUATION
from tfx_models.experiments.demo_d3d_teacher import DEMO_SCALE

CONFIG = override(PAPER_SCALE, ["name=demo_d3d_student_continued", *DEMO_SCALE, *DEMO_CONTINUATION])
