"""Late fusion of the two streams' video-level softmax scores (Sect. 6, Table 3).

Averaging needs no training. The SVM (multi-class linear, one-vs-rest) is
trained on the training videos' scores, stacked as [spatial; temporal] after
L2-normalising each stream's score vector, and saved as plain JSON
(coefficients and intercepts) so loading it runs no pickled code, through tf.io.gfile so
it may live on any path TensorFlow knows.
"""
from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf
from sklearn.svm import LinearSVC

SVM_FILE = "svm_fusion.json"


def average_scores(spatial: np.ndarray, temporal: np.ndarray) -> np.ndarray:
    """Mean of the two streams' softmax scores [N,C]."""
    spatial, temporal = _check_pair(spatial, temporal)
    return (spatial + temporal) / 2.0


def svm_features(spatial: np.ndarray, temporal: np.ndarray) -> np.ndarray:
    """[N,2C]: each stream's scores scaled to unit L2 norm, then concatenated."""
    spatial, temporal = _check_pair(spatial, temporal)

    def unit(scores):
        return scores / np.maximum(np.linalg.norm(scores, axis=1, keepdims=True), 1e-12)

    return np.concatenate([unit(spatial), unit(temporal)], axis=1)


def _check_pair(spatial, temporal):
    spatial, temporal = np.asarray(spatial, np.float64), np.asarray(temporal, np.float64)
    if spatial.ndim != 2 or spatial.shape != temporal.shape:
        raise ValueError(f"fusion needs two [N,C] score arrays of one shape, got "
                         f"{spatial.shape} and {temporal.shape}")
    return spatial, temporal


class SvmFusion:
    """A linear SVM over stacked normalised scores; decision values act as fused class scores."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, num_classes: int):
        self.coef = np.asarray(coef, np.float64)  # [C, 2C]
        self.intercept = np.asarray(intercept, np.float64)  # [C]
        self.num_classes = num_classes

    @classmethod
    def fit(cls, spatial: np.ndarray, temporal: np.ndarray, labels: np.ndarray,
            *, c: float = 1.0, seed: int = 0) -> "SvmFusion":
        """Trains on training-set video scores; classes absent from `labels` never win."""
        features = svm_features(spatial, temporal)
        labels = np.asarray(labels)
        num_classes = spatial.shape[1]
        present = np.unique(labels)
        if len(present) < 2:
            raise ValueError(f"SVM fusion needs training videos of at least two classes, got {present}")
        svm = LinearSVC(C=c, multi_class="ovr", random_state=seed, max_iter=10_000)
        svm.fit(features, labels)
        coef = np.zeros([num_classes, features.shape[1]])
        intercept = np.full([num_classes], -np.inf)
        if len(present) == 2:  # sklearn keeps one binary hyperplane for the second class
            coef[present[1]], intercept[present[1]] = svm.coef_[0], svm.intercept_[0]
            coef[present[0]], intercept[present[0]] = -svm.coef_[0], -svm.intercept_[0]
        else:
            coef[svm.classes_], intercept[svm.classes_] = svm.coef_, svm.intercept_
        return cls(coef, intercept, num_classes)

    def scores(self, spatial: np.ndarray, temporal: np.ndarray) -> np.ndarray:
        """Decision values [N,C]; argmax is the fused prediction."""
        features = svm_features(spatial, temporal)
        if features.shape[1] != self.coef.shape[1]:
            raise ValueError(f"SVM trained on {self.coef.shape[1] // 2} classes, scores have "
                             f"{features.shape[1] // 2}")
        return features @ self.coef.T + self.intercept

    def save(self, directory: str, info: dict | None = None) -> str:
        """Writes <directory>/svm_fusion.json; `info` records what it fuses (streams, classes)."""
        tf.io.gfile.makedirs(directory)
        path = os.path.join(directory, SVM_FILE)
        finite = np.isfinite(self.intercept)
        with tf.io.gfile.GFile(path, "w") as f:
            json.dump({"info": info or {}, "num_classes": self.num_classes, "coef": self.coef.tolist(),
                       "intercept": [float(v) if ok else None for v, ok in zip(self.intercept, finite)]},
                      f)
        return path

    @classmethod
    def load(cls, directory: str) -> "SvmFusion":
        path = os.path.join(directory, SVM_FILE)
        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(f"{path}: no saved SVM fusion (run tfx_models.evaluate with both "
                                    "streams first)")
        with tf.io.gfile.GFile(path) as f:
            raw = json.load(f)
        for key in ("num_classes", "coef", "intercept"):
            if key not in raw:
                raise ValueError(f"{path}: missing field {key!r}")
        intercept = np.array([-np.inf if v is None else v for v in raw["intercept"]], np.float64)
        coef = np.asarray(raw["coef"], np.float64)
        if coef.shape != (raw["num_classes"], 2 * raw["num_classes"]) or intercept.shape != (raw["num_classes"],):
            raise ValueError(f"{path}: coef {coef.shape} / intercept {intercept.shape} do not fit "
                             f"{raw['num_classes']} classes")
        return cls(coef, intercept, raw["num_classes"])
