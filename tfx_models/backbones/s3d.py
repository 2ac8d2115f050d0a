"""S3D-G: a 3D ConvNet on clips [T,H,W,C] with separable convolutions and feature gating.

Xie et al. (ECCV 2018), the network Stroud et al. (WACV 2020) distil a flow
teacher into. Every 3D convolution with a kxkxk receptive field is factorised
into a 1xkxk spatial conv and a kx1x1 temporal conv (each followed by batch
norm and ReLU): k^2 + k weights per channel pair instead of k^3. Feature
gating re-weights each channel of a block's output by a sigmoid of a linear map
of the globally pooled features (y = sigmoid(W pool(x) + b) * x), a cheap form
of context the paper found to help.

The layout follows S3D-G (stem, Inception blocks with separable branches, 3D
pooling between stages) with fewer Inception blocks (2 + 2 + 1 of the paper's
2 + 5 + 2) and every channel count times `width`, so a small version trains on
2 CPU cores. The tower returns named maps like tfx_models.backbones.towers: "conv1",
"conv2", "mixed_3", "mixed_4", "mixed_5" (after ReLU/gating) and "features",
the pooled vector a head reads. It takes raw input (pixels 0..255, flow in
pixels) and normalises inside, as every tower here does.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from tfx_models.config import FLOW_SCALE
from tfx_models.layers.common import PACKAGE, InputScaling
from tfx_models.backbones.towers import IMAGENET_MEAN_RGB, IMAGENET_STD_RGB

# Inception blocks kept from S3D-G, with the paper's channels (before `width`):
# (1x1, 3x3 reduce, 3x3, 3x3 reduce, 3x3, pool projection).
BLOCKS = {
    "mixed_3b": (64, 96, 128, 16, 32, 32),
    "mixed_3c": (128, 128, 192, 32, 96, 64),
    "mixed_4b": (192, 96, 208, 16, 48, 64),
    "mixed_4c": (160, 112, 224, 24, 64, 64),
    "mixed_5b": (256, 160, 320, 32, 128, 128),
}
STAGES = (("mixed_3", ("mixed_3b", "mixed_3c")), ("mixed_4", ("mixed_4b", "mixed_4c")), ("mixed_5", ("mixed_5b",)))


def scaled(n: int, width: float) -> int:
    return max(1, int(round(n * width)))


@keras.saving.register_keras_serializable(package=PACKAGE)
class FeatureGating(keras.layers.Layer):
    """S3D-G's gate: y = sigmoid(W mean_{t,h,w}(x) + b) * x, one gate per channel per example."""

    def build(self, input_shape):
        channels = input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(channels, channels), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        pooled = tf.reduce_mean(inputs, axis=[1, 2, 3])
        gate = tf.sigmoid(tf.matmul(pooled, tf.cast(self.kernel, inputs.dtype)) + tf.cast(self.bias, inputs.dtype))
        return inputs * gate[:, None, None, None, :]

    def compute_output_shape(self, input_shape):
        return input_shape


def unit(x, filters: int, kernel, strides=(1, 1, 1), *, name: str):
    """Conv3D (no bias) + batch norm + ReLU."""
    x = keras.layers.Conv3D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = keras.layers.BatchNormalization(epsilon=1e-3, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def separable_unit(x, filters: int, k: int, strides=(1, 1, 1), *, name: str):
    """The S3D factorisation of a kxkxk conv: 1xkxk spatial (layer '<name>_spatial'), then kx1x1
    temporal ('<name>_temporal'), each with batch norm and ReLU."""
    st, sh, sw = strides
    x = unit(x, filters, (1, k, k), (1, sh, sw), name=f"{name}_spatial")
    return unit(x, filters, (k, 1, 1), (st, 1, 1), name=f"{name}_temporal")


def inception_block(x, channels: tuple[int, ...], width: float, *, name: str):
    """S3D-G's Inception block: 1x1x1 | 1x1x1 -> sep 3x3x3 | 1x1x1 -> sep 3x3x3 | 3x3x3 max pool ->
    1x1x1, each branch gated, concatenated on channels."""
    b0, b1a, b1b, b2a, b2b, b3 = (scaled(c, width) for c in channels)
    branches = [
        unit(x, b0, 1, name=f"{name}_b0"),
        separable_unit(unit(x, b1a, 1, name=f"{name}_b1a"), b1b, 3, name=f"{name}_b1b"),
        separable_unit(unit(x, b2a, 1, name=f"{name}_b2a"), b2b, 3, name=f"{name}_b2b"),
        unit(keras.layers.MaxPooling3D(3, 1, padding="same", name=f"{name}_b3_pool")(x), b3, 1, name=f"{name}_b3"),
    ]
    gated = [FeatureGating(name=f"{name}_gate{i}")(b) for i, b in enumerate(branches)]
    return keras.layers.Concatenate(name=name)(gated)


def input_scaling(stream: str, flow_scale: float) -> InputScaling:
    if stream == "temporal":
        return InputScaling(offset=(0.0,), scale=(flow_scale,), name="input_scaling")
    return InputScaling(offset=IMAGENET_MEAN_RGB, scale=[1.0 / s for s in IMAGENET_STD_RGB], name="input_scaling")


def build_s3d_g(input_shape, *, stream: str, width: float = 1.0, dropout: float = 0.5, flow_scale: float = FLOW_SCALE,
                name: str = "tower") -> keras.Model:
    """Raw clip [N,T,H,W,C] -> {"conv1", "conv2", "mixed_3", "mixed_4", "mixed_5", "features"}.

    Strides as S3D-G: conv1 2x2x2, max pools 1x3x3/1x2x2 (twice), 3x3x3/2 and 2x2x2/2; 'same'
    padding throughout, so short clips (T < 8) keep at least one time step.
    """
    if len(input_shape) != 4:
        raise ValueError(f"S3D-G takes clips [T,H,W,C], got input shape {tuple(input_shape)}")
    inputs = keras.Input(tuple(input_shape), name="rgb" if stream == "spatial" else "flow")
    x = input_scaling(stream, flow_scale)(inputs)
    ends = {}
    x = ends["conv1"] = separable_unit(x, scaled(64, width), 7, (2, 2, 2), name="conv1")
    x = keras.layers.MaxPooling3D((1, 3, 3), (1, 2, 2), padding="same", name="pool1")(x)
    x = unit(x, scaled(64, width), 1, name="conv2a")
    x = separable_unit(x, scaled(192, width), 3, name="conv2c")
    x = ends["conv2"] = FeatureGating(name="conv2c_gate")(x)
    x = keras.layers.MaxPooling3D((1, 3, 3), (1, 2, 2), padding="same", name="pool2")(x)
    pools = {"mixed_3": ((3, 3, 3), (2, 2, 2)), "mixed_4": ((2, 2, 2), (2, 2, 2))}
    for stage, blocks in STAGES:
        for block in blocks:
            x = inception_block(x, BLOCKS[block], width, name=block)
        ends[stage] = x
        if stage in pools:
            x = keras.layers.MaxPooling3D(*pools[stage], padding="same", name=f"pool_{stage}")(x)
    x = keras.layers.GlobalAveragePooling3D(name="pool")(x)
    ends["features"] = keras.layers.Dropout(dropout, name="drop")(x)
    return keras.Model(inputs, ends, name=name)
