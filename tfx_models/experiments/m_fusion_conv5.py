"""Multiplicative fusion at conv5 (Park et al. 2016), at the two-stream paper's scale: the product of
the two towers' conv5 maps (after ReLU) goes through the spatial tower's pool5, fc6, fc7 and a
softmax. Both towers come from trained single-stream runs (fusion.spatial_run,
fusion.temporal_run) and train through the product (the poster's "knowledge exchange between two
networks"), whole, at 1e-3: ten times below the streams' starting rate. The product starts from the
towers' measured scales (fusion.init). fusion.combine=true averages the m-fusion head's softmax
with both streams' (S + T + m-fuse in one model). m_fusion_conv5_frozen.py is the frozen ablation."""
from tfx_models.config import DataConfig, ExperimentConfig, FusionConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="m_fusion_conv5",
    data=DataConfig(records=("out/records/ucf101-s1",), crop_size=224, length=10),
    model=ModelConfig(kind="m_fusion", dropout=0.85),
    fusion=FusionConfig(layer="conv5", combine=False, train_from_fusion=False, init="measured"),
    train=TrainConfig(steps=20_000, batch_size=96, learning_rate=1e-3, lr_drops=(0.5, 0.8)),
)
