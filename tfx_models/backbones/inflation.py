"""I3D-style inflation of a trained 2D CNN-M tower into a 3D ConvNet on clips (Carreira & Zisserman 2017).

Each Conv2D kernel [kh,kw,cin,cout] becomes a Conv3D kernel [k,kh,kw,cin,cout]:
the 2D kernel repeated over k frames and divided by k, so on a clip of identical
frames the 3D conv gives exactly the 2D conv's response at every frame. Time is
padded by repeating the edge frames (not zeros) so that holds at the clip's ends
too. Layers without a time axis to learn over (LRN, pooling, padding, the fully
connected layers) run per frame (the 2D layer's copy on [N*T,...]); the tower's
"features" are the per-frame features averaged over the clip.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfx_models.layers.time import BatchToTime, TimeAverage, TimeToBatch
from tfx_models.layers.common import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class ClipPadding(keras.layers.Layer):
    """Pads [N,T,H,W,C]: `time` frames each side by repeating the edge frame, `space` zeros each side."""

    def __init__(self, time: int = 0, space: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.time, self.space = int(time), int(space)

    def call(self, inputs):
        x = inputs
        if self.time:
            x = tf.concat([tf.repeat(x[:, :1], self.time, axis=1), x, tf.repeat(x[:, -1:], self.time, axis=1)],
                          axis=1)
        if self.space:
            s = self.space
            x = tf.pad(x, [[0, 0], [0, 0], [s, s], [s, s], [0, 0]])
        return x

    def compute_output_shape(self, input_shape):
        n, t, h, w, c = input_shape

        def grow(size, by):
            return None if size is None else size + 2 * by
        return (n, grow(t, self.time), grow(h, self.space), grow(w, self.space), c)

    def get_config(self):
        return {**super().get_config(), "time": self.time, "space": self.space}


def inflate_kernel(kernel: np.ndarray, time_kernel: int) -> np.ndarray:
    """[kh,kw,cin,cout] -> [k,kh,kw,cin,cout]: repeated over k frames, divided by k."""
    return np.repeat(kernel[None], time_kernel, axis=0) / time_kernel


def _inflated_conv(layer: keras.layers.Conv2D, time_kernel: int, x):
    kh, kw = layer.kernel_size
    if layer.padding == "same":
        if tuple(layer.strides) != (1, 1) or kh != kw or kh % 2 == 0:
            raise ValueError(f"layer {layer.name}: only odd square 'same' convs at stride 1 inflate")
        space = kh // 2
    else:
        space = 0
    x = ClipPadding(time_kernel // 2, space, name=f"{layer.name}_pad3d")(x)
    return keras.layers.Conv3D(layer.filters, (time_kernel, kh, kw), strides=(1, *layer.strides), padding="valid",
                               activation=layer.activation, use_bias=layer.use_bias, name=layer.name)(x)


def inflate_tower(tower: keras.Model, num_frames: int, time_kernel: int = 3, *, name: str | None = None
                  ) -> keras.Model:
    """A 2D CNN-M tower (tfx_models.backbones.towers) -> the inflated 3D tower on [N,T,H,W,C], with its weights.

    Outputs: the 2D tower's map names ("conv1".."conv5" [N,T,h,w,c]; "fc6", "fc7" per frame
    [N,T,F]) and "features" averaged over the T frames.
    """
    if time_kernel < 1 or time_kernel % 2 == 0:
        raise ValueError(f"time_kernel must be odd and >= 1 (padding keeps T frames), got {time_kernel}")
    source = tower.input
    inputs = keras.Input((num_frames, *source.shape[1:]), name=source.name)
    names = {id(t): n for n, t in tower.output.items()}
    ends, x, per_frame = {}, inputs, False
    for layer in tower.layers[1:]:
        if isinstance(layer, keras.layers.Conv2D):
            if per_frame:
                x, per_frame = BatchToTime(num_frames, name=f"{layer.name}_clip")(x), False
            x = _inflated_conv(layer, time_kernel, x)
        else:
            if not per_frame and layer.name != "input_scaling":
                x, per_frame = TimeToBatch(name=f"{layer.name}_frames")(x), True
            x = layer.__class__.from_config(layer.get_config())(x)
        key = names.get(id(layer.output))
        if key is not None:
            ends[key] = BatchToTime(num_frames, name=f"{key}_per_frame")(x) if per_frame else x
    features = ends.pop("features")
    ends["features"] = TimeAverage(name="features_mean")(features)
    model = keras.Model(inputs, ends, name=name or tower.name)
    copy_inflated_weights(tower, model)
    return model


def copy_inflated_weights(tower: keras.Model, inflated: keras.Model) -> list[str]:
    """Copies a 2D tower's weights into its inflated tower, layer by layer by name; conv kernels
    are inflated over the 3D kernel's time extent. Returns the layers copied."""
    copied = []
    for layer in tower.layers:
        if not layer.weights:
            continue
        target = inflated.get_layer(layer.name)
        values = layer.get_weights()
        if isinstance(layer, keras.layers.Conv2D):
            values[0] = inflate_kernel(values[0], target.kernel_size[0])
        assign_weights(target, values)
        copied.append(layer.name)
    return copied


def assign_weights(layer, values: list[np.ndarray]) -> None:
    """layer.set_weights, refusing values of other shapes with both shapes named."""
    if [tuple(v.shape) for v in values] != [tuple(w.shape) for w in layer.weights]:
        raise ValueError(f"layer {layer.name!r}: weights {[v.shape for v in values]} do not fit "
                         f"{[tuple(w.shape) for w in layer.weights]}")
    layer.set_weights(values)
