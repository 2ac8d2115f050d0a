"""D3D from a trained student: the d3d_mse student starts from a trained d3d_student run
(--set model.init_run=RUN, heads included) and is distilled for a quarter of its budget at a
tenth of its learning rate. Its control is d3d_student_continued: the same schedule from the
same weights without a teacher, so that "more steps" is not mistaken for "distillation"."""
from tfx_models.config import override
from tfx_models.experiments.d3d_mse import CONFIG as FROM_SCRATCH

CONTINUATION = ["train.steps=5000", "train.learning_rate=0.01", "train.lr_drops=0.6"]
CONFIG = override(FROM_SCRATCH, ["name=d3d_mse_from_student", *CONTINUATION])
