"""The control of d3d_mse_from_student: the trained student (--set model.init_run=RUN) trained on
labels alone for the same steps and schedule, without a teacher."""
from tfx_models.config import override
from tfx_models.experiments.d3d_mse_from_student import CONTINUATION
from tfx_models.experiments.d3d_student import CONFIG as STUDENT

CONFIG = override(STUDENT, ["name=d3d_student_continued", *CONTINUATION])
