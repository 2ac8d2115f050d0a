"""Conv fusion at ReLU5 of the demo's two trained streams (Feichtenhofer et al. 2016, Table 1).

As the paper: start from the trained single-stream towers (fusion.spatial_run /
fusion.temporal_run, set on the command line), train the 1x1 conv fusion layer and the
layers after it at a lower learning rate, with the towers frozen up to the fusion point. The
fusion starts as a sum weighted by the towers' measured scales (fusion.init; docs/conv_fusion.md).
"""
from tfx_models.config import DataConfig, ExperimentConfig, FusionConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="demo_conv_fusion",
    data=DataConfig(records=("out/demo/records",), crop_size=96, length=10),
    model=ModelConfig(kind="conv_fusion", width=0.25, dropout=0.5),
    fusion=FusionConfig(type="conv", layer="conv5", mode="2d_conv_2d_pool", keep_temporal=False,
                        train_from_fusion=True, init="measured"),
    train=TrainConfig(steps=200, batch_size=32, learning_rate=1e-3, lr_drops=(0.5,),
                      checkpoint_every=100, log_every=25),
)
