"""Optical flow as a target at a hidden layer's resolution: fewer time steps and pixels, vectors rescaled."""
from __future__ import annotations

import keras
import tensorflow as tf

from tfx_models.layers.common import PACKAGE


def resize_flow(flow: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """[..., H, W, 2] -> [..., h, w, 2]: area-averaged, and the x (y) components multiplied by w/W (h/H),
    because a displacement of d input pixels is d * w/W pixels of the smaller grid."""
    flow = tf.convert_to_tensor(flow, tf.float32)
    lead = tf.shape(flow)[:-3]
    height, width = flow.shape[-3], flow.shape[-2]
    flat = tf.reshape(flow, [-1, height, width, 2])
    small = tf.image.resize(flat, size, method="area")
    small *= tf.constant([size[1] / width, size[0] / height], tf.float32)
    return tf.reshape(small, tf.concat([lead, [size[0], size[1], 2]], 0))


def resize_valid(valid: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """[..., H, W] bool -> [..., h, w] bool: a small pixel is valid when every input pixel under it is."""
    valid = tf.cast(valid, tf.float32)
    lead = tf.shape(valid)[:-2]
    flat = tf.reshape(valid, [-1, valid.shape[-2], valid.shape[-1], 1])
    small = tf.image.resize(flat, size, method="area")[..., 0] > 0.999
    return tf.reshape(small, tf.concat([lead, size], 0))


@keras.saving.register_keras_serializable(package=PACKAGE)
class FlowAtLayer(keras.layers.Layer):
    """[N,T,H,W,2] flow clip -> [N,t,h,w,2]: the field of every (T/t)-th frame, resized as resize_flow does.

    A hidden time step of S3D-G covers T/t input frames; its target is the flow from the first of them
    to the next frame, so the target is a one-frame displacement whatever the layer's temporal stride.
    """

    def __init__(self, frames: int, size: tuple[int, int], **kwargs):
        super().__init__(**kwargs)
        self.frames, self.size = int(frames), tuple(int(s) for s in size)

    def call(self, inputs):
        stride = inputs.shape[1] // self.frames
        return resize_flow(inputs[:, ::stride][:, :self.frames], self.size)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.frames, *self.size, 2)

    def get_config(self):
        return {**super().get_config(), "frames": self.frames, "size": self.size}
