"""Convolutional towers: raw input -> dict of named feature maps.

A tower is a keras.Model whose output is a dict: "conv1".."conv5" (and "fc6",
"fc7" for CNN-M) plus "features", the vector a classifier head reads. Later
fusion models tap the intermediate maps from that dict without rebuilding the
tower. Every tower takes raw input (pixels 0..255 or flow in pixels) and
normalises inside with tfx_models.layers.common.InputScaling.
"""
from __future__ import annotations

import warnings

import keras
import numpy as np
import tensorflow as tf

from tfx_models.config import FLOW_SCALE
from tfx_models.layers.common import CeilModePadding, InputScaling, LocalResponseNormalization

IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)
IMAGENET_STD_RGB = (58.393, 57.12, 57.375)

# keras.applications layers whose outputs stand for conv1..conv5: after the last ReLU of each
# block, before its pooling (where fusion taps them; ResNet50's *_out layers are post-ReLU).
APPLICATION_ENDPOINTS = {
    "vgg16": ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"),
    "resnet50": ("conv1_relu", "conv2_block3_out", "conv3_block4_out", "conv4_block6_out",
                 "conv5_block3_out"),
}


def _scaled(n: int, width: float) -> int:
    return max(1, int(round(n * width)))


def _scaling_layer(architecture: str, stream: str, flow_scale: float) -> InputScaling:
    if stream == "temporal":
        return InputScaling(offset=(0.0,), scale=(flow_scale,), name="input_scaling")
    if architecture == "cnn_m_2048":
        return InputScaling(offset=IMAGENET_MEAN_RGB, scale=[1.0 / s for s in IMAGENET_STD_RGB],
                            name="input_scaling")
    # Caffe-mode preprocessing, what the ImageNet weights of VGG16/ResNet50 expect.
    return InputScaling(offset=IMAGENET_MEAN_RGB[::-1], scale=(1.0,), reverse_channels=True,
                        name="input_scaling")


def _cnn_m_2048(x, *, stream: str, width: float, dropout: float, init: str) -> dict:
    """CNN-M-2048 (Fig. 1 of the paper; Chatfield et al. 2014), Caffe-style.

    Padding follows Caffe's CNN-M: conv1 pad 0, conv2 pad 1, conv3-5 pad 1, and
    3x3/2 max-pools in ceil mode. At 224 px: 224 -conv1-> 109 -pool-> 54
    -conv2-> 26 -pool-> 13 -conv3..5-> 13 -pool-> 6, so fc6 sees 6*6*512.
    The temporal net has no LRN after conv2 (Sect. 6).
    """
    ends = {}
    kernels = {"kernel_initializer": init}
    x = ends["conv1"] = keras.layers.Conv2D(_scaled(96, width), 7, strides=2, activation="relu",
                                            name="conv1", **kernels)(x)
    x = LocalResponseNormalization(name="norm1")(x)
    x = CeilModePadding(name="pool1_pad")(x)
    x = keras.layers.MaxPooling2D(3, 2, name="pool1")(x)
    x = keras.layers.ZeroPadding2D(1, name="conv2_pad")(x)
    x = ends["conv2"] = keras.layers.Conv2D(_scaled(256, width), 5, strides=2, activation="relu",
                                            name="conv2", **kernels)(x)
    if stream == "spatial":
        x = LocalResponseNormalization(name="norm2")(x)
    x = CeilModePadding(name="pool2_pad")(x)
    x = keras.layers.MaxPooling2D(3, 2, name="pool2")(x)
    for i in (3, 4, 5):
        x = ends[f"conv{i}"] = keras.layers.Conv2D(_scaled(512, width), 3, padding="same",
                                                   activation="relu", name=f"conv{i}", **kernels)(x)
    x = CeilModePadding(name="pool5_pad")(x)
    x = keras.layers.MaxPooling2D(3, 2, name="pool5")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = ends["fc6"] = keras.layers.Dense(_scaled(4096, width), activation="relu", name="fc6", **kernels)(x)
    x = keras.layers.Dropout(dropout, name="drop6")(x)
    x = ends["fc7"] = keras.layers.Dense(_scaled(2048, width), activation="relu", name="fc7", **kernels)(x)
    ends["features"] = keras.layers.Dropout(dropout, name="drop7")(x)
    return ends


def _application(architecture: str, input_shape, weights):
    factory = {"vgg16": keras.applications.VGG16, "resnet50": keras.applications.ResNet50}[architecture]
    with warnings.catch_warnings():
        # 2L flow channels are intended here; Keras warns about anything but 1 or 3.
        warnings.filterwarnings("ignore", message="This model usually expects 1 or 3 input channels")
        return factory(include_top=False, weights=weights, input_shape=tuple(input_shape))


def _application_base(architecture: str, input_shape, weights) -> keras.Model:
    """The application with conv1..conv5 outputs; flow inputs get RGB weights adapted."""
    if weights is not None and input_shape[-1] != 3:
        base = _application(architecture, input_shape, None)
        rgb = _application(architecture, (*input_shape[:2], 3), weights)
        transfer_rgb_weights(rgb, base)
    else:
        base = _application(architecture, input_shape, weights)
    names = APPLICATION_ENDPOINTS[architecture]
    return keras.Model(base.input, {f"conv{i + 1}": base.get_layer(n).output for i, n in enumerate(names)},
                       name=architecture)


def build_tower(architecture: str, input_shape, *, stream: str, width: float = 1.0, dropout: float = 0.5,
                weights: str | None = None, flow_scale: float = FLOW_SCALE, init: str = "glorot_uniform",
                name: str = "tower") -> keras.Model:
    """Raw input [N,H,W,C] -> dict of named maps (see module docstring).

    weights: None (random init), "imagenet" (keras.applications only; needs the
    internet), or a local file: for keras.applications the application's own
    weights file, for cnn_m_2048 a .weights.h5 saved from an RGB CNN-M tower of
    the same width. RGB weights on a flow tower initialise conv1 with the RGB
    filters averaged over colour and replicated across the 2L flow channels.
    """
    if weights not in (None, "imagenet") and not tf.io.gfile.exists(weights):
        raise FileNotFoundError(f"model.weights: {weights}: no such weights file")
    input_name = "rgb" if stream == "spatial" else "flow"
    inputs = keras.Input(tuple(input_shape), name=input_name)
    x = _scaling_layer(architecture, stream, flow_scale)(inputs)
    if architecture == "cnn_m_2048":
        ends = _cnn_m_2048(x, stream=stream, width=width, dropout=dropout, init=init)
    elif architecture in APPLICATION_ENDPOINTS:
        ends = dict(_application_base(architecture, input_shape, weights)(x))
        pooled = keras.layers.GlobalAveragePooling2D(name="pool")(ends["conv5"])
        ends["features"] = keras.layers.Dropout(dropout, name="drop")(pooled)
    else:
        raise ValueError(f"unknown tower architecture {architecture!r}")
    tower = keras.Model(inputs, ends, name=name)
    if architecture == "cnn_m_2048" and weights is not None:
        if weights == "imagenet":
            raise ValueError("cnn_m_2048 has no downloadable ImageNet weights: pass a local .weights.h5")
        rgb = build_tower(architecture, (*input_shape[:2], 3), stream="spatial", width=width,
                          dropout=dropout, flow_scale=flow_scale)
        rgb.load_weights(weights)
        transfer_rgb_weights(rgb, tower)
    return tower


def transfer_rgb_weights(source: keras.Model, target: keras.Model) -> None:
    """Copies weights layer by layer (matched by name); a conv kernel whose input
    channels differ is averaged over the source channels and replicated."""
    copied = 0
    for layer in target.layers:
        try:
            src = source.get_layer(layer.name)
        except ValueError:
            continue
        if not layer.weights or len(src.weights) != len(layer.weights):
            continue
        values = []
        for s, t in zip(src.get_weights(), layer.get_weights()):
            if s.shape != t.shape and s.ndim == 4 and s.shape[:2] + s.shape[3:] == t.shape[:2] + t.shape[3:]:
                s = np.repeat(s.mean(axis=2, keepdims=True), t.shape[2], axis=2)
            if s.shape != t.shape:
                raise ValueError(f"layer {layer.name}: pretrained weight {s.shape} does not fit {t.shape}")
            values.append(s)
        layer.set_weights(values)
        copied += 1
    if copied == 0:
        raise ValueError(f"no layer of {source.name!r} matches a layer of {target.name!r}")


def input_shape(stream: str, crop_size: int, length: int) -> tuple[int, int, int]:
    """RGB: one frame; flow: 2L channels [x_1, y_1, ..., x_L, y_L] (also when bidirectional)."""
    return (crop_size, crop_size, 3 if stream == "spatial" else 2 * length)


def build_towers(*, architecture: str = "cnn_m_2048", crop_size: int = 224, length: int = 10,
                 width: float = 1.0, dropout: float = 0.5, weights: str | None = None,
                 flow_scale: float = FLOW_SCALE) -> dict[str, keras.Model]:
    """The spatial and temporal towers, each built inside a Keras name scope of its name.

    Keras 3 does not prefix a nested model's variable paths with the model's
    name (both towers would hold 'conv1/kernel'); a name scope around the build
    does ('spatial/conv1/kernel', 'temporal/conv1/kernel'). Layer names stay
    'conv1'..., so saved single-stream weights still match layer by layer.
    """
    towers = {}
    for stream in ("spatial", "temporal"):
        with keras.name_scope(stream):
            towers[stream] = build_tower(architecture, input_shape(stream, crop_size, length), stream=stream,
                                         width=width, dropout=dropout,
                                         weights=weights if stream == "spatial" else None,
                                         flow_scale=flow_scale, name=stream)
    return towers
