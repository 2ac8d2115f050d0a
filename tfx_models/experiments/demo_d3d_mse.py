"""Demo scale (64 px, 8 frames at stride 2, width 0.25, 600 steps: minutes on 2 CPU cores) of d3d_mse.py:
D3D (Stroud et al. 2020): the RGB S3D-G student trained on labels plus the mean squared error between
its logits and the frozen flow teacher's on the same clip (set distill.teacher_run to a d3d_teacher run)."""
from tfx_models.config import DataConfig, DistillConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="demo_d3d_mse",
    data=DataConfig(records=("out/demo/records/ucf101",), crop_size=64, length=1, snippets=8, snippet_stride=(2, 2)),
    model=ModelConfig(kind="d3d", architecture="s3d_g", width=0.25, dropout=0.5),
    distill=DistillConfig(teacher_architecture="s3d_g", teacher_width=0.25, loss="mse", weight=1.0),
    train=TrainConfig(steps=600, batch_size=16, learning_rate=0.05, lr_drops=(0.7,), weight_decay=1e-4,
                      checkpoint_every=200, log_every=25),
)
