"""Training-time augmentation that knows about flow: one crop and flip for all channels.

A generic RandomFlip would mirror flow images without negating x
displacements; here the same crop/flip is applied to every channel of a
volume and a mirrored volume has its x channels negated. Randomness is
stateless (seeded per sample) so a seeded pipeline is reproducible.
"""
from __future__ import annotations

import tensorflow as tf

from tfx_models.data import stacking_tf

# RGB jitter kept small (pixel values 0..255): the paper relies on crops and flips.
BRIGHTNESS_DELTA = 0.08 * 255.0
CONTRAST_RANGE = (0.8, 1.2)
SATURATION_RANGE = (0.8, 1.2)


def random_box(height: tf.Tensor, width: tf.Tensor, crop_size: int, *, flip: bool,
               seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(top, left, mirror) of a random crop_size square in an image of this size, maybe mirrored.

    Drawn once and applied to every image of a sample, so two streams (and all
    snippets of a clip) see the same crop and flip.
    """
    seeds = tf.random.experimental.stateless_split(seed, 3)
    top = tf.random.stateless_uniform([], seeds[0], 0, height - crop_size + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], seeds[1], 0, width - crop_size + 1, dtype=tf.int32)
    mirror = tf.random.stateless_uniform([], seeds[2]) < 0.5 if flip else tf.constant(False)
    return top, left, mirror


def random_crop_flip(image: tf.Tensor, crop_size: int, *, is_flow: bool, flip: bool,
                     seed: tf.Tensor) -> tf.Tensor:
    """A random crop_size square from anywhere in the (upscaled if small) image, maybe mirrored."""
    image = stacking_tf.resize_to_cover(image, crop_size, is_flow)
    shape = tf.shape(image)
    top, left, mirror = random_box(shape[0], shape[1], crop_size, flip=flip, seed=seed)
    return stacking_tf.crop(image, top, left, crop_size, mirror, is_flow)


def color_jitter(rgb: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Small random brightness, contrast and saturation changes on 0..255 RGB."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    out = tf.image.stateless_random_brightness(rgb, BRIGHTNESS_DELTA, seeds[0])
    out = tf.image.stateless_random_contrast(out, *CONTRAST_RANGE, seed=seeds[1])
    out = tf.image.stateless_random_saturation(out, *SATURATION_RANGE, seed=seeds[2])
    return tf.clip_by_value(out, 0.0, 255.0)
