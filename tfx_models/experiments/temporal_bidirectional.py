"""Table 1b, bi-directional optical flow stacking: L/2 forward and L/2 backward fields.

The records must have been ingested with backward flow (flow.bidirectional).
"""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="temporal_bidirectional",
    data=DataConfig(records=("out/records/ucf101",), stream="temporal", length=10, stacking="optical_flow",
                    bidirectional=True),
    model=ModelConfig(dropout=0.9, init="he_normal"),
    train=TrainConfig(steps=80_000, learning_rate=1e-2, lr_drops=(0.625, 0.875)),
)
