"""The D3D teacher (Stroud et al. 2020): S3D-G on optical flow clips, one field per frame (L=1),
16 frames at stride 1, 224 px. Train it first; D3D runs name its run dir in distill.teacher_run."""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="d3d_teacher",
    data=DataConfig(records=("out/records/ucf101-s1",), stream="temporal", crop_size=224, length=1, snippets=16,
                    snippet_stride=(1, 1), color_jitter=False),
    model=ModelConfig(kind="s3d", architecture="s3d_g", width=1.0, dropout=0.5),
    train=TrainConfig(steps=20_000, batch_size=32, learning_rate=0.1, lr_drops=(0.5, 0.8), weight_decay=1e-4),
)
