"""D3D with Hinton et al.'s (2015) soft targets instead of the logit MSE: tau^2 x KL between the teacher's
and the student's softmax at temperature tau = 2 (set distill.teacher_run to a d3d_teacher run)."""
from tfx_models.config import DataConfig, DistillConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="d3d_kl",
    data=DataConfig(records=("out/records/ucf101-s1",), crop_size=224, length=1, snippets=16, snippet_stride=(1, 1)),
    model=ModelConfig(kind="d3d", architecture="s3d_g", width=1.0, dropout=0.5),
    distill=DistillConfig(teacher_architecture="s3d_g", teacher_width=1.0, loss="kl", weight=1.0, temperature=2.0),
    train=TrainConfig(steps=20_000, batch_size=32, learning_rate=0.1, lr_drops=(0.5, 0.8), weight_decay=1e-4),
)
