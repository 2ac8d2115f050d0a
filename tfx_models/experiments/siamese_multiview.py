"""The Siamese multi-view net at demo size: one CNN-M-2048 (width 0.25) on pairs of views.

results/siamese_table.sh trains its softmax-only rows from this file too
(--set model.kind=stream), so every row has the same tower, crops and schedule.
"""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, SiameseConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="siamese_multiview",
    data=DataConfig(records=("out/siamese/records/multiview",), stream="spatial", crop_size=96),
    model=ModelConfig(kind="siamese", width=0.25, dropout=0.5),
    siamese=SiameseConfig(margin=1.0, weight=1.0, ratio=20.0, frame_step=10, labelled_views=(0, 1)),
    train=TrainConfig(steps=1000, batch_size=32, learning_rate=1e-2, lr_drops=(0.625, 0.875),
                      checkpoint_every=250, log_every=50),
)
