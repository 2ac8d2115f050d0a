"""A RunInference ModelHandler for our SavedModel exports.

Beam's TF handler loads with tf.keras.models.load_model, which under Keras 3
refuses SavedModel folders; this one loads the export through TF's C++
SavedModel loader, as TF Serving does (tfx_models.saved_model_runner), and runs
its `serving_default` signature. Elements are (key, test inputs of one video);
each result is that video's scores averaged over its inputs.

The one read of a Beam job outside Beam's FileSystems: an export (its version folders, its
preprocessing contract and the SavedModel itself) is read by TensorFlow's filesystem layer,
because only TensorFlow can load a SavedModel; gs:// works through TensorFlow's own client.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from tfx_models.export.contract import DEFAULT_SIGNATURE, resolve_export
from tfx_models.export.runner import SavedModelRunner


def average_scores(runner: SavedModelRunner, signature: str, inputs: dict[str, np.ndarray],
                   max_rows: int) -> dict[str, np.ndarray]:
    """Runs the signature in chunks of max_rows and averages every *probabilities output over rows."""
    count = len(next(iter(inputs.values())))
    keys = [k for k in runner.signature(signature).outputs if k.endswith("probabilities")]
    sums: dict[str, np.ndarray] = {}
    for start in range(0, count, max_rows):
        chunk = {k: v[start:start + max_rows] for k, v in inputs.items()}
        for key, value in runner.run(signature, chunk, keys).items():
            total = value.astype(np.float64).sum(axis=0)
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

    def load_model(self) -> SavedModelRunner:
        return SavedModelRunner(self._export_dir)

    def run_inference(self, batch: Sequence[tuple[str, dict]], model,
                      inference_args: dict | None = None) -> Iterable[PredictionResult]:
        for key, inputs in batch:
            yield PredictionResult(key, average_scores(model, self._signature, inputs, self._max_rows),
                                   model_id=self._export_dir)

    def get_num_bytes(self, batch: Sequence[tuple[str, dict]]) -> int:
        return sum(v.nbytes for _, inputs in batch for v in inputs.values())

    def batch_elements_kwargs(self) -> dict:
        # An element is a whole video (25 x 10 inputs by default): a few per batch is plenty.
        return {"min_batch_size": 1, "max_batch_size": 4}

    def get_metrics_namespace(self) -> str:
        return "twostream_saved_model"
