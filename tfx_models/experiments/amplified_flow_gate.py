"""Feature amplification with the hand-crafted flow gate (Park et al. 2016), at the two-stream paper's
scale: CNN-M-2048 towers at 224 px, L=10. The spatial tower's conv5 maps are multiplied by the
flow stack's pooled magnitude (normalised to average 1), and the layers after conv5 are
fine-tuned from a trained spatial run (fusion.spatial_run, set on the command line) at lr 1e-3
with the tower frozen up to conv5. fusion.keep_temporal=true (and fusion.temporal_run) adds the
temporal stream beside it: S(amp) + T."""
from tfx_models.config import (AmplificationConfig, DataConfig, ExperimentConfig, FusionConfig, ModelConfig,
                               TrainConfig)

CONFIG = ExperimentConfig(
    name="amplified_flow_gate",
    data=DataConfig(records=("out/records/ucf101-s1",), crop_size=224, length=10),
    model=ModelConfig(kind="amplified", dropout=0.85),
    fusion=FusionConfig(keep_temporal=False, train_from_fusion=True),
    amplification=AmplificationConfig(gate="flow", epsilon=0.01),
    train=TrainConfig(steps=20_000, batch_size=96, learning_rate=1e-3, lr_drops=(0.5, 0.8)),
)
