"""Demo scale of d3d_teacher.py (the S3D-G flow teacher): 64 px, 8 frames at stride 2, width 0.25, 600 steps,
for 2 CPU cores. DEMO_SCALE is shared by the other demo_d3d_* experiments."""
from tfx_models.config import override
from tfx_models.experiments.d3d_teacher import CONFIG as PAPER_SCALE

DEMO_SCALE = ["data.records=out/demo/records/ucf101", "data.crop_size=64", "data.snippets=8",
              "data.snippet_stride=2,2", "model.width=0.25", "distill.teacher_width=0.25", "train.steps=600",
              "train.batch_size=16", "train.learning_rate=0.05", "train.lr_drops=0.7", "train.checkpoint_every=200",
              "train.log_every=25"]
CONFIG = override(PAPER_SCALE, ["name=demo_d3d_teacher", *DEMO_SCALE])
