"""Feature amplification on the demo's two trained streams (Park et al. 2016), small enough for
2 CPU cores: the flow gate on the spatial tower's conv5, the layers after conv5 fine-tuned from
fusion.spatial_run (set on the command line). --set amplification.gate=learned (with
fusion.temporal_run) trains the learned gate instead."""
from tfx_models.config import (AmplificationConfig, DataConfig, ExperimentConfig, FusionConfig, ModelConfig,
                               TrainConfig)

CONFIG = ExperimentConfig(
    name="demo_amplified",
    data=DataConfig(records=("out/demo/records",), crop_size=96, length=10),
    model=ModelConfig(kind="amplified", width=0.25, dropout=0.5),
    fusion=FusionConfig(keep_temporal=False, train_from_fusion=True),
    amplification=AmplificationConfig(gate="flow"),
    train=TrainConfig(steps=200, batch_size=32, learning_rate=1e-3, lr_drops=(0.5,),
                      checkpoint_every=100, log_every=25),
)
