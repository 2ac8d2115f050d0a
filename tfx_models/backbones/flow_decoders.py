"""Flow decoders: small nets that read optical flow out of a 3D net's hidden layer (Stroud et al. 2020, Sect. 5).

D3D asks whether an RGB 3D net represents motion by training a decoder to predict flow from one hidden
layer. The decoders have no temporal filters: every conv is 2D and runs on each time step of the
hidden clip alone (TimeToBatch / BatchToTime), so any motion they output was already in that step's
features. Designs (DESIGNS):
- "conv": three 3x3 convs (64, 32 channels x width, then 2), the simplest read-out;
- "pwc": PWC-Net's flow estimator, shrunk: five 3x3 convs (128, 128, 96, 64, 32 x width) with leaky
  ReLU 0.1, each one's input concatenated to its output (DenseNet connections), then a 3x3 conv to 2;
- "linear": one 1x1 conv to 2 (width unused), a linear probe: how much motion each location's
  features hold in a form a weighted sum can read.
Output: [N,t,h,w,2] flow in pixels of the hidden layer's grid.
"""
from __future__ import annotations

import keras

from tfx_models.layers.time import BatchToTime, TimeToBatch

DESIGNS = ("conv", "pwc", "linear")


def build_flow_decoder(feature_shape, design: str, *, width: float = 1.0, name: str = "flow_decoder") -> keras.Model:
    """features [N,t,h,w,C] -> {"flow": [N,t,h,w,2]}."""
    if design not in DESIGNS:
        raise ValueError(f"flow decoder design must be one of {DESIGNS}, got {design!r}")
    frames = feature_shape[0]
    features = keras.Input(tuple(feature_shape), name="features")
    x = TimeToBatch(name=f"{name}_frames")(features)
    if design == "conv":
        for i, channels in enumerate((64, 32)):
            x = keras.layers.Conv2D(max(1, int(channels * width)), 3, padding="same", activation="relu",
                                    name=f"{name}_conv{i}")(x)
    elif design == "pwc":
        for i, channels in enumerate((128, 128, 96, 64, 32)):
            y = keras.layers.Conv2D(max(1, int(channels * width)), 3, padding="same", name=f"{name}_conv{i}")(x)
            y = keras.layers.LeakyReLU(0.1, name=f"{name}_relu{i}")(y)
            x = keras.layers.Concatenate(name=f"{name}_dense{i}")([x, y])
    kernel = 1 if design == "linear" else 3
    x = keras.layers.Conv2D(2, kernel, padding="same", dtype="float32", name=f"{name}_predict")(x)
    flow = BatchToTime(frames, dtype="float32", name=f"{name}_clip")(x)
    return keras.Model(features, {"flow": flow}, name=name)


def hidden_layer(tower: keras.Model, layer: str, *, name: str = "hidden") -> keras.Model:
    """The part of a clip tower up to the named layer: clip -> that layer's output [N,t,h,w,C]."""
    try:
        output = tower.get_layer(layer).output
    except ValueError:
        names = [l.name for l in tower.layers if len(l.output.shape) == 5]
        raise ValueError(f"no layer {layer!r} in {tower.name!r}; 5-D layers: {names}") from None
    if len(output.shape) != 5:
        raise ValueError(f"layer {layer!r} gives {tuple(output.shape)}, not a clip [N,t,h,w,C]")
    return keras.Model(tower.input, output, name=name)
