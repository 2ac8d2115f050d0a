"""D3D (Stroud et al. 2020): the RGB S3D-G student trained on labels plus the mean squared error between
its logits and the frozen flow teacher's on the same clip (set distill.teacher_run to a d3d_teacher run)."""
from tfx_models.config import DataConfig, DistillConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="d3d_mse",
    data=DataConfig(records=("out/records/ucf101-s1",), crop_size=224, length=1, snippets=16, snippet_stride=(1, 1)),
    model=ModelConfig(kind="d3d", architecture="s3d_g", width=1.0, dropout=0.5),
    distill=DistillConfig(teacher_architecture="s3d_g", teacher_width=1.0, loss="mse", weight=1.0),
    train=TrainConfig(steps=20_000, batch_size=32, learning_rate=0.1, lr_drops=(0.5, 0.8), weight_decay=1e-4),
)
