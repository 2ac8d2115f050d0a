"""Table 1a, spatial ConvNet pre-trained on ILSVRC then fine-tuned: 1e-3, /10 at 14K, stop at 20K.

No ImageNet CNN-M weights are downloadable: point model.weights at a local
.weights.h5 of an RGB CNN-M tower (or use model.architecture=vgg16 with
model.weights=imagenet where the internet is reachable).
"""
from tfx_models.config import DataConfig, ExperimentConfig, ModelConfig, TrainConfig

CONFIG = ExperimentConfig(
    name="spatial_finetune",
    data=DataConfig(records=("out/records/ucf101",), stream="spatial"),
    model=ModelConfig(dropout=0.9, weights="pretrained/cnn_m_2048_imagenet.weights.h5"),
    train=TrainConfig(steps=20_000, learning_rate=1e-3, lr_drops=(0.7,)),
)
