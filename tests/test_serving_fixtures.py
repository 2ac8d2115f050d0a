"""Shared builders for the export/serving/predict tests: small real models and video files.

Holds no tests itself; the models honour the model I/O contract (named
inputs `rgb`/`flow`, dict outputs with `probabilities`).
"""
from __future__ import annotations

import keras
import numpy as np

from media.video import write_video
from tfx_models.export.contract import Preprocessing

CLASSES = ("ApplyEyeMakeup", "Basketball", "CliffDiving", "Drumming")
CROP = 32
LENGTH = 2
SIZE = 40


def stream_model(stream: str, *, classes: int = len(CLASSES), crop: int = CROP, length: int = LENGTH,
                 seed: int = 0) -> keras.Model:
    """A tiny conv net on one stream, seeded so scores differ between classes."""
    keras.utils.set_random_seed(seed)
    name = "rgb" if stream == "spatial" else "flow"
    inputs = keras.Input((crop, crop, 3 if stream == "spatial" else 2 * length), name=name)
    x = keras.layers.Rescaling(1 / 255.0 if stream == "spatial" else 0.2)(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv1")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(classes, name="logits")(x)
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    return keras.Model({name: inputs}, {"logits": logits, "probabilities": probabilities}, name=stream)


def preprocessing(streams=("temporal",), **overrides) -> Preprocessing:
    values = dict(streams=tuple(streams), classes=CLASSES, crop_size=CROP, length=LENGTH, size=SIZE,
                  flow_algorithm="dis_ultrafast", record_frames=3)
    values.update(overrides)
    return Preprocessing(**values)


def moving_frames(count: int = 10, height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A textured square drifting right over a noisy background: real motion for flow."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    patch = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    frames = []
    for t in range(count):
        frame = background.copy()
        top, left = 12, 4 + 2 * t
        frame[top:top + 16, left:left + 16] = patch
        frames.append(frame)
    return np.stack(frames)


def write_test_video(path, count: int = 10, seed: int = 0) -> str:
    write_video(str(path), moving_frames(count, seed=seed), fps=25.0)
    return str(path)
