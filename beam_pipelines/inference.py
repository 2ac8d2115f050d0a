"""A RunInference ModelHandler for our SavedModel exports.

Beam's TF handler loads with tf.keras.models.load_model, which under Keras 3
refuses SavedModel folders; this one loads with tf.saved_model.load and calls
the export's `serving_default` signature. Elements are (key, test inputs of one
video); each result is that video's scores averaged over its inputs.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import numpy as np
import tensorflow as tf
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from serving.model_store import available_versions
from serving.preprocessing import ASSETS_EXTRA, DEFAULT_SIGNATURE, PREPROCESSING_FILE, Preprocessing


def resolve_export(model_dir: str) -> str:
    """A version folder as given, or the highest integer version under `<base>/<name>`."""
    model_dir = model_dir.rstrip("/")
    if tf.io.gfile.exists(f"{model_dir}/saved_model.pb"):
        return model_dir
    versions = available_versions(model_dir)
    if not versions:
        raise FileNotFoundError(f"{model_dir}: neither a SavedModel nor a folder of integer versions")
    return f"{model_dir}/{versions[-1]}"


def read_preprocessing(export_dir: str) -> Preprocessing:
    path = os.path.join(export_dir, ASSETS_EXTRA, PREPROCESSING_FILE)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path}: missing; was this exported with python -m tfx_models.export?")
    with tf.io.gfile.GFile(path) as f:
        return Preprocessing.from_json(f.read(), path)


def average_scores(signature, inputs: dict[str, np.ndarray], max_rows: int) -> dict[str, np.ndarray]:
    """Calls the signature in chunks of max_rows and averages every *probabilities output over rows."""
    count = len(next(iter(inputs.values())))
    sums: dict[str, np.ndarray] = {}
    for start in range(0, count, max_rows):
        chunk = {k: tf.constant(v[start:start + max_rows]) for k, v in inputs.items()}
        for key, value in signature(**chunk).items():
            if key.endswith("probabilities"):
                total = value.numpy().astype(np.float64).sum(axis=0)
                sums[key] = sums[key] + total if key in sums else total
    return {k: v / count for k, v in sums.items()}


class SavedModelHandler(ModelHandler[tuple[str, dict], PredictionResult, Any]):
    def __init__(self, model_dir: str, *, max_rows: int = 50, signature: str = DEFAULT_SIGNATURE):
        self._export_dir = resolve_export(model_dir)
        self._max_rows = max_rows
        self._signature = signature

    @property
    def export_dir(self) -> str:
        return self._export_dir

    def load_model(self):
        return tf.saved_model.load(self._export_dir)

    def run_inference(self, batch: Sequence[tuple[str, dict]], model,
                      inference_args: dict | None = None) -> Iterable[PredictionResult]:
        signature = model.signatures[self._signature]
        for key, inputs in batch:
            yield PredictionResult(key, average_scores(signature, inputs, self._max_rows),
                                   model_id=self._export_dir)

    def get_num_bytes(self, batch: Sequence[tuple[str, dict]]) -> int:
        return sum(v.nbytes for _, inputs in batch for v in inputs.values())

    def batch_elements_kwargs(self) -> dict:
        # An element is a whole video (25 x 10 inputs by default): a few per batch is plenty.
        return {"min_batch_size": 1, "max_batch_size": 4}

    def get_metrics_namespace(self) -> str:
        return "twostream_saved_model"
