"""The RGB student without distillation: S3D-G on RGB clips (16 frames at stride 1, 224 px) trained on
labels alone (kind s3d: no teacher is built and no flow is decoded). The baseline D3D is compared to."""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="d3d_student",
    data=DataConfig(records=("out/records/ucf101-s1",), stream="spatial", crop_size=224, length=1, snippets=16,
                    snippet_stride=(1, 1)),
    model=ModelConfig(kind="s3d", architecture="s3d_g", width=1.0, dropout=0.5),
    train=TrainConfig(steps=20_000, batch_size=32, learning_rate=0.1, lr_drops=(0.5, 0.8), weight_decay=1e-4),
)
