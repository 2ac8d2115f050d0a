"""A temporal ConvNet (L=10 flow stacking) small enough to train in minutes on 2 CPU cores."""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="demo_temporal",
    data=DataConfig(records=("out/demo/records",), stream="temporal", crop_size=96, length=10),
    model=ModelConfig(width=0.25, dropout=0.5, init="he_normal"),
    train=TrainConfig(steps=300, batch_size=32, learning_rate=1e-2, lr_drops=(0.625, 0.875),
                      checkpoint_every=100, log_every=25),
)
