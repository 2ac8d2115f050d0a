"""Demo scale (64 px, 8 frames at stride 2, width 0.25, 600 steps: minutes on 2 CPU cores) of d3d_student.py:
the RGB student without distillation: S3D-G on RGB clips (16 frames at stride 1, 224 px) trained on
labels alone (kind s3d: no teacher is built and no flow is decoded). The baseline D3D is compared to."""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="demo_d3d_student",
    data=DataConfig(records=("out/demo/records/ucf101",), stream="spatial", crop_size=64, length=1, snippets=8,
                    snippet_stride=(2, 2)),
    model=ModelConfig(kind="s3d", architecture="s3d_g", width=0.25, dropout=0.5),
    train=TrainConfig(steps=600, batch_size=16, learning_rate=0.05, lr_drops=(0.7,), weight_decay=1e-4,
                      checkpoint_every=200, log_every=25),
)
