"""Table 1a, spatial ConvNet trained from scratch on UCF-101 (high dropout helps: 0.9)."""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="spatial_scratch",
    data=DataConfig(records=("out/records/ucf101",), stream="spatial"),
    model=ModelConfig(dropout=0.9),
    train=TrainConfig(steps=80_000, learning_rate=1e-2, lr_drops=(0.625, 0.875)),
)
