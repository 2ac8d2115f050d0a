"""Multiplicative fusion of the demo's two trained streams at conv5 (Park et al. 2016), small enough
for 2 CPU cores: the towers from fusion.spatial_run / fusion.temporal_run (set on the command
line) and trained through the product, so each stream's gradient (d(x_s x_t)/d x_s = x_t) lets the
other amplify or suppress its activations. The whole towers train, at 1e-3: ten times below the
streams' own starting rate, so the trained towers are adjusted rather than relearned. The product
starts from the towers' measured scales (fusion.init). --set fusion.layer=fc7 fuses at fc7; --set
fusion.combine=true averages with both streams. demo_m_fusion_frozen.py is the frozen-tower ablation."""
from tfx_models.config import DataConfig, ExperimentConfig, FusionConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="demo_m_fusion",
    data=DataConfig(records=("out/demo/records",), crop_size=96, length=10),
    model=ModelConfig(kind="m_fusion", width=0.25, dropout=0.5),
    fusion=FusionConfig(layer="conv5", combine=False, train_from_fusion=False, init="measured"),
    train=TrainConfig(steps=200, batch_size=32, learning_rate=1e-3, lr_drops=(0.5,),
                      checkpoint_every=100, log_every=25),
)
