"""Conv fusion at ReLU5 with the paper's settings (Feichtenhofer et al. 2016, Sect. 4): CNN-M-2048
towers at 224 px, L=10, the fusion layer and what follows trained at lr 1e-3 with tenfold drops,
dropout 0.85, the temporal tower kept with its own loss. For Table 3, set data.snippets=5 and
fusion.mode=3d_conv_3d_pool."""
from tfx_models.config import DataConfig, ExperimentConfig, FusionConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="conv_fusion",
    data=DataConfig(records=("out/records/ucf101-s1",), crop_size=224, length=10, snippets=1,
                    snippet_stride=(5, 15)),
    model=ModelConfig(kind="conv_fusion", dropout=0.85),
    fusion=FusionConfig(type="conv", layer="conv5", mode="2d_conv_2d_pool", keep_temporal=True,
                        train_from_fusion=True, init="measured"),
    train=TrainConfig(steps=20_000, batch_size=96, learning_rate=1e-3, lr_drops=(0.5, 0.8)),
)
