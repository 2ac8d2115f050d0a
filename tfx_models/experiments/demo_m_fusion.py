"""Multiplicative fusion of the demo's two trained streams at conv5 (Park et al. 2016), small enough
for 2 CPU cores: the towers from fusion.spatial_run / fusion.temporal_run (set on the command
line), frozen up to the fusion point. --set fusion.layer=fc7 fuses at fc7; --set
fusion.combine=true averages with both streams."""
from tfx_models.config import DataConfig, ExperimentConfig, FusionConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="demo_m_fusion",
    data=DataConfig(records=("out/demo/records",), crop_size=96, length=10),
    model=ModelConfig(kind="m_fusion", width=0.25, dropout=0.5),
    fusion=FusionConfig(layer="conv5", combine=False, train_from_fusion=True),
    train=TrainConfig(steps=200, batch_size=32, learning_rate=1e-3, lr_drops=(0.5,),
                      checkpoint_every=100, log_every=25),
)
