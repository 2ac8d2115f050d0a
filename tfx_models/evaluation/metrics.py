"""Video-level metrics of the paper's evaluation: accuracy, mean class accuracy, per-class recall.

Plots follow the paper's appendix: per-class recall as a bar chart and the
confusion matrix as an image (Figs. 5 and 6). Files go through tf.io.gfile, so a
report can be written to any path TensorFlow knows (local, gs://, ram://).
"""
from __future__ import annotations

import io
import json
import os

import matplotlib

matplotlib.use("Agg")  # files only; no display on training machines
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """counts[true, predicted] as int64 [C,C]."""
    labels, predictions = np.asarray(labels, np.int64), np.asarray(predictions, np.int64)
    for name, values in (("label", labels), ("prediction", predictions)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} outside 0..{num_classes - 1}: {values.min()}..{values.max()}")
    matrix = np.zeros([num_classes, num_classes], np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def accuracy(matrix: np.ndarray) -> float:
    """Fraction of videos classified correctly (the paper's reported number)."""
    total = matrix.sum()
    return float(np.trace(matrix) / total) if total else float("nan")


def per_class_recall(matrix: np.ndarray) -> np.ndarray:
    """Recall per class; NaN for classes with no test videos."""
    support = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(matrix) / support, np.nan)


def mean_class_accuracy(matrix: np.ndarray) -> float:
    """Mean of per-class recall over classes that have test videos (robust to imbalance)."""
    recall = per_class_recall(matrix)
    return float(np.nanmean(recall)) if np.isfinite(recall).any() else float("nan")


def summary(labels, scores: np.ndarray, class_names: list[str]) -> dict:
    """Metrics of video-level class scores [N,C] as a JSON-ready dict."""
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[1] != len(class_names):
        raise ValueError(f"scores of shape {scores.shape} do not match {len(class_names)} classes")
    matrix = confusion_matrix(labels, scores.argmax(axis=1), len(class_names))
    recall = per_class_recall(matrix)
    return {
        "videos": int(matrix.sum()),
        "accuracy": accuracy(matrix),
        "mean_class_accuracy": mean_class_accuracy(matrix),
        "per_class_recall": {name: (None if np.isnan(r) else float(r))
                             for name, r in zip(class_names, recall)},
        "confusion_matrix": matrix.tolist(),
        "classes": list(class_names),
    }


def write_json(path: str, data: dict) -> None:
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(data, indent=2))


def write_npz(path: str, /, **arrays) -> None:
    """np.savez built in memory: a zip needs a seekable file, which a GFile being written is not."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(buffer.getvalue())


def save_png(fig, path: str, dpi: int) -> None:
    """Renders in memory, then one write: matplotlib can only save to local files by path.
    Makes the parent folder and closes the figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    if os.path.dirname(path):
        tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(buffer.getvalue())


def plot_per_class_recall(recall: np.ndarray, class_names: list[str], path: str, title: str) -> None:
    height = max(3.0, 0.18 * len(class_names))
    fig, ax = plt.subplots(figsize=(7, height))
    positions = np.arange(len(class_names))
    ax.barh(positions, np.nan_to_num(recall), color="tab:blue")
    ax.set_yticks(positions, class_names, fontsize=max(4, min(9, 600 // max(1, len(class_names)))))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("recall")
    ax.set_title(title)
    fig.tight_layout()
    save_png(fig, path, dpi=120)


def plot_confusion_matrix(matrix: np.ndarray, class_names: list[str], path: str, title: str) -> None:
    """Rows normalised to recall so rare classes are as visible as common ones."""
    support = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, support, out=np.zeros(matrix.shape), where=support > 0)
    size = max(4.0, 0.12 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(normalised, cmap="viridis", vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    fontsize = max(3, min(9, 500 // max(1, len(class_names))))
    ax.set_xticks(ticks, class_names, rotation=90, fontsize=fontsize)
    ax.set_yticks(ticks, class_names, fontsize=fontsize)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    save_png(fig, path, dpi=120)
