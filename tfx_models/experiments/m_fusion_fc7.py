"""Multiplicative fusion at fc7 (Park et al. 2016), at the two-stream paper's scale: the product of
the two towers' fc7 vectors (after ReLU), dropout, then a softmax classifier. Both towers come from
trained single-stream runs (fusion.spatial_run, fusion.temporal_run), frozen up to fc7, so only
the classifier trains. fusion.combine=true averages its softmax with both streams'."""
from tfx_models.config import DataConfig, ExperimentConfig, FusionConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="m_fusion_fc7",
    data=DataConfig(records=("out/records/ucf101-s1",), crop_size=224, length=10),
    model=ModelConfig(kind="m_fusion", dropout=0.85),
    fusion=FusionConfig(layer="fc7", combine=False, train_from_fusion=True),
    train=TrainConfig(steps=20_000, batch_size=96, learning_rate=1e-3, lr_drops=(0.5, 0.8)),
)
