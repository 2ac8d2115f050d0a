"""Table 1a, pre-trained spatial ConvNet with only the last (softmax) layer trained."""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="spatial_last_layer",
    data=DataConfig(records=("out/records/ucf101",), stream="spatial"),
    model=ModelConfig(dropout=0.5, weights="pretrained/cnn_m_2048_imagenet.weights.h5", train_tower=False),
    train=TrainConfig(steps=20_000, learning_rate=1e-3, lr_drops=(0.7,)),
)
