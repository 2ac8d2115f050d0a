"""Sect. 4 / Table 2, multi-task temporal ConvNet: one tower, a softmax head per dataset
(UCF-101 and HMDB-51); each head's loss counts only its own dataset's samples."""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="temporal_multitask",
    data=DataConfig(records=("out/records/ucf101", "out/records/hmdb51"), stream="temporal", length=10),
    model=ModelConfig(dropout=0.9, init="he_normal"),
    train=TrainConfig(steps=80_000, learning_rate=1e-2, lr_drops=(0.625, 0.875)),
)
