"""Folding snippets into the batch and back, so 2D layers run on every snippet of a clip."""
from __future__ import annotations

import keras
import tensorflow as tf

from tfx_models.layers.common import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class TimeToBatch(keras.layers.Layer):
    """[N,T,...] -> [N*T,...], snippet-major within each example, so 2D towers run on every snippet."""

    def call(self, inputs):
        return tf.reshape(inputs, [-1, *inputs.shape[2:]])

    def compute_output_shape(self, input_shape):
        n, t = input_shape[0], input_shape[1]
        return (None if n is None or t is None else n * t, *input_shape[2:])


@keras.saving.register_keras_serializable(package=PACKAGE)
class BatchToTime(keras.layers.Layer):
    """[N*T,...] -> [N,T,...]: the inverse of TimeToBatch for a known number of snippets T."""

    def __init__(self, num_snippets: int, **kwargs):
        super().__init__(**kwargs)
        if int(num_snippets) < 1:
            raise ValueError(f"{self.name}: num_snippets must be >= 1, got {num_snippets}")
        self.num_snippets = int(num_snippets)

    def call(self, inputs):
        return tf.reshape(inputs, [-1, self.num_snippets, *inputs.shape[1:]])

    def compute_output_shape(self, input_shape):
        n = input_shape[0]
        return (None if n is None else n // self.num_snippets, self.num_snippets, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "num_snippets": self.num_snippets}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TimeAverage(keras.layers.Layer):
    """[N,T,...] -> [N,...]: the mean over snippets (2D pooling's per-snippet predictions, averaged)."""

    def call(self, inputs):
        return tf.reduce_mean(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])
