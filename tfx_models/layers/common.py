"""Custom Keras layers of the towers, registered so saved models load with safe_mode=True."""
from __future__ import annotations

import keras
import tensorflow as tf

PACKAGE = "tfx_models"


@keras.saving.register_keras_serializable(package=PACKAGE)
class LocalResponseNormalization(keras.layers.Layer):
    """Caffe's across-channel LRN (Krizhevsky et al.), used after conv1/conv2 of CNN-M.

    Caffe divides alpha by the window size; tf.nn.local_response_normalization
    does not, so the division happens here to keep Caffe's hyper-parameters.
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        if size % 2 != 1:
            raise ValueError(f"LRN size must be odd, got {size}")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def call(self, inputs):
        # LRN has no bfloat16/float16 kernel on CPU; normalise in float32.
        out = tf.nn.local_response_normalization(
            tf.cast(inputs, tf.float32), depth_radius=self.size // 2, bias=self.k,
            alpha=self.alpha / self.size, beta=self.beta)
        return tf.cast(out, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}


@keras.saving.register_keras_serializable(package=PACKAGE)
class InputScaling(keras.layers.Layer):
    """(x - offset) * scale per channel, optionally reversing RGB to BGR first.

    Models take raw inputs (pixels 0..255, flow in pixels) so every client sends
    the same thing; each tower normalises the way its weights expect.
    """

    def __init__(self, offset=(0.0,), scale=(1.0,), reverse_channels: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.offset = [float(v) for v in offset]
        self.scale = [float(v) for v in scale]
        self.reverse_channels = bool(reverse_channels)

    def call(self, inputs):
        if self.reverse_channels:
            inputs = inputs[..., ::-1]
        offset = tf.constant(self.offset, inputs.dtype)
        scale = tf.constant(self.scale, inputs.dtype)
        return (inputs - offset) * scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "offset": self.offset, "scale": self.scale,
                "reverse_channels": self.reverse_channels}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CeilModePadding(keras.layers.Layer):
    """Zero-pads bottom/right so a following 'valid' pool rounds its output size up.

    Caffe pools in ceil mode (CNN-M's 6x6 conv5 output at 224 px depends on it).
    Inputs are post-ReLU (>= 0), so padded zeros never win the max. Maps smaller than
    the window are padded up to it, so tiny demo inputs still give a 1x1 output.
    """

    def __init__(self, pool_size: int = 3, strides: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size, self.strides = pool_size, strides

    def _pad(self, size):
        if size < self.pool_size:
            return self.pool_size - size
        remainder = (size - self.pool_size) % self.strides
        return 0 if remainder == 0 else self.strides - remainder

    def call(self, inputs):
        h, w = inputs.shape[1], inputs.shape[2]
        return tf.pad(inputs, [[0, 0], [0, self._pad(h)], [0, self._pad(w)], [0, 0]])

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, h + self._pad(h), w + self._pad(w), c)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides}
