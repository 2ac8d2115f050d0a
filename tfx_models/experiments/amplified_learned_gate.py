"""Feature amplification with a learned gate (Park et al. 2016), at the two-stream paper's scale:
the gate is a 1x1 conv + sigmoid on the temporal tower's conv5 maps, normalised to average 1 and
started at exactly 1 (the plain spatial net). Both towers come from trained single-stream runs
(fusion.spatial_run, fusion.temporal_run) and stay frozen up to conv5; the gate and the spatial
layers after conv5 train at lr 1e-3. amplification.activation=softmax gates by a softmax over
the conv5 locations instead."""
from tfx_models.config import (AmplificationConfig, DataConfig, ExperimentConfig, FusionConfig, ModelConfig,
                               TrainConfig)

CONFIG = ExperimentConfig(
    name="amplified_learned_gate",
    data=DataConfig(records=("out/records/ucf101-s1",), crop_size=224, length=10),
    model=ModelConfig(kind="amplified", dropout=0.85),
    fusion=FusionConfig(keep_temporal=False, train_from_fusion=True),
    amplification=AmplificationConfig(gate="learned", activation="sigmoid", epsilon=0.01),
    train=TrainConfig(steps=20_000, batch_size=96, learning_rate=1e-3, lr_drops=(0.5, 0.8)),
)
