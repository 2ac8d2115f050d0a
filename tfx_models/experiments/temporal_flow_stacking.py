"""Table 1b, temporal ConvNet on optical flow stacking, L=10, mean flow subtraction."""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="temporal_flow_stacking",
    data=DataConfig(records=("out/records/ucf101",), stream="temporal", length=10, stacking="optical_flow"),
    model=ModelConfig(dropout=0.9, init="he_normal"),
    train=TrainConfig(steps=80_000, learning_rate=1e-2, lr_drops=(0.625, 0.875)),
)
