"""Feature amplification's gates (Park et al., WACV 2016): where a spatial map is amplified.

A gate g [N,h,w,1] averages 1 over the map; Amplify multiplies every channel of
the map by it (tfx_models/kinds/amplification.py says how each is normalised).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfx_models.layers.common import PACKAGE

GATES = ("flow", "learned")  # amplification.gate
GATE_ACTIVATIONS = ("sigmoid", "softmax")  # amplification.activation of the learned gate


def adaptive_pool_matrix(size_in: int, size_out: int) -> np.ndarray:
    """[size_out, size_in] averaging weights: row i averages inputs floor(i*I/O) .. ceil((i+1)*I/O) - 1."""
    if size_in < 1 or size_out < 1:
        raise ValueError(f"adaptive pooling from {size_in} to {size_out}: sizes must be >= 1")
    matrix = np.zeros((size_out, size_in), np.float32)
    for i in range(size_out):
        start, end = (i * size_in) // size_out, -((-(i + 1) * size_in) // size_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def _mean_one(values: tf.Tensor, epsilon: float) -> tf.Tensor:
    """(v + eps) / (mean of v over the locations + eps), per example: the map averages exactly 1."""
    mean = tf.reduce_mean(values, axis=[1, 2], keepdims=True)
    return (values + epsilon) / (mean + epsilon)


@keras.saving.register_keras_serializable(package=PACKAGE)
class FlowGate(keras.layers.Layer):
    """The hand-crafted gate: flow stack [N,H,W,2L] -> [N,h,w,1] on conv5's grid (module docstring)."""

    def __init__(self, grid, epsilon: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.grid = tuple(int(g) for g in grid)
        if len(self.grid) != 2 or min(self.grid) < 1:
            raise ValueError(f"{self.name}: grid must be (height, width) >= 1, got {grid!r}")
        if epsilon <= 0:
            raise ValueError(f"{self.name}: epsilon must be > 0, got {epsilon!r}")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        height, width, channels = input_shape[-3:]
        if len(input_shape) != 4 or channels is None or channels % 2:
            raise ValueError(f"{self.name}: expected a flow stack [N,H,W,2L], got {tuple(input_shape)}")
        self._rows = adaptive_pool_matrix(int(height), self.grid[0])
        self._cols = adaptive_pool_matrix(int(width), self.grid[1])

    def call(self, flow):
        flow = tf.cast(flow, tf.float32)
        fields = tf.reshape(flow, [-1, *flow.shape[1:3], flow.shape[-1] // 2, 2])  # [N,H,W,L,(x,y)]
        fields -= tf.reduce_mean(fields, axis=[1, 2], keepdims=True)
        magnitude = tf.reduce_mean(tf.norm(fields, axis=-1), axis=-1)  # [N,H,W]
        pooled = tf.einsum("hH,nHW,wW->nhw", tf.constant(self._rows), magnitude, tf.constant(self._cols))
        return tf.cast(_mean_one(pooled[..., None], self.epsilon), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.grid, 1)

    def get_config(self):
        return {**super().get_config(), "grid": list(self.grid), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LearnedGate(keras.layers.Layer):
    """The learned gate: a map [N,h,w,C] -> 1x1 conv -> sigmoid or softmax over locations -> mean 1.

    Kernel and bias start at zero, so the gate starts at exactly 1 everywhere.
    """

    def __init__(self, activation: str = "sigmoid", epsilon: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        if activation not in GATE_ACTIVATIONS:
            raise ValueError(f"{self.name}: activation must be one of {GATE_ACTIVATIONS}, got {activation!r}")
        if epsilon <= 0:
            raise ValueError(f"{self.name}: epsilon must be > 0, got {epsilon!r}")
        self.activation = activation
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self.name}: expected a map [N,h,w,C], got {tuple(input_shape)}")
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], 1), initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros")

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        scores = tf.tensordot(x, tf.cast(self.kernel, tf.float32), axes=[[3], [0]]) + tf.cast(self.bias, tf.float32)
        if self.activation == "sigmoid":
            gate = _mean_one(tf.sigmoid(scores), self.epsilon)
        else:
            locations = scores.shape[1] * scores.shape[2]
            flat = tf.nn.softmax(tf.reshape(scores, [-1, locations]), axis=-1) * float(locations)
            gate = tf.reshape(flat, tf.shape(scores))
        return tf.cast(gate, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Amplify(keras.layers.Layer):
    """[map [N,h,w,C], gate [N,h,w,1]] -> map * gate: every channel scaled by its location's gate."""

    def build(self, input_shape):
        features, gate = (tuple(s) for s in input_shape)
        if len(features) != 4 or gate[1:] != (*features[1:3], 1):
            raise ValueError(f"{self.name}: expected a map [N,h,w,C] and a gate [N,h,w,1], got {features}, {gate}")

    def call(self, inputs):
        return inputs[0] * tf.cast(inputs[1], inputs[0].dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])
