"""Demo scale (64 px, 8 frames at stride 2, width 0.25, 600 steps: minutes on 2 CPU cores) of d3d_teacher.py:
the D3D teacher (Stroud et al. 2020): S3D-G on optical flow clips, one field per frame (L=1),
16 frames at stride 1, 224 px. Train it first; D3D runs name its run dir in distill.teacher_run."""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="demo_d3d_teacher",
    data=DataConfig(records=("out/demo/records/ucf101",), stream="temporal", crop_size=64, length=1, snippets=8,
                    snippet_stride=(2, 2), color_jitter=False),
    model=ModelConfig(kind="s3d", architecture="s3d_g", width=0.25, dropout=0.5),
    train=TrainConfig(steps=600, batch_size=16, learning_rate=0.05, lr_drops=(0.7,), weight_decay=1e-4,
                      checkpoint_every=200, log_every=25),
)
