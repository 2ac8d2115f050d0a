"""Losses over a model's output dict, written for distributed training.

A loss function has the signature
    loss_fn(outputs: dict, targets: dict, global_batch_size: int) -> (loss, logs)
where `loss` is this replica's share of the global-batch mean (so summing over
replicas gives the mean, as tf.nn.compute_average_loss does) and `logs` maps
a name to a (numerator, denominator) pair the trainer sums over replicas and
steps before dividing. Later losses (distillation, contrastive) plug in with
the same signature.
"""
from __future__ import annotations

from typing import Callable

import tensorflow as tf

Logs = dict[str, tuple[tf.Tensor, tf.Tensor]]
LossFn = Callable[[dict, dict, int], tuple[tf.Tensor, Logs]]


def cross_entropy_heads(heads: dict[str, int | None]) -> LossFn:
    """Softmax cross-entropy summed over heads; each head sees only its own task's samples.

    heads maps a logits output name to the task index whose samples it learns
    from (targets["task"]); None means every sample. Multi-task training
    (Sect. 4) is {"logits_ucf101": 0, "logits_hmdb51": 1}: the other
    dataset's samples are masked out of a head's loss, and the total is the
    sum of the heads' losses, each the mean over its own task's samples: the
    input draws each of the T tasks with probability 1/T, so a task holds
    global_batch / T samples on average. Dividing by the whole global batch
    instead would halve every head's gradient with two tasks.
    """
    tasks = len({task for task in heads.values() if task is not None}) or 1

    def loss_fn(outputs: dict, targets: dict, global_batch_size: int):
        labels = tf.cast(targets["label"], tf.int32)
        total = tf.constant(0.0, tf.float32)
        logs: Logs = {}
        for key, task in heads.items():
            logits = tf.cast(outputs[key], tf.float32)
            if task is None:
                mask = tf.ones_like(labels, tf.float32)
            else:
                mask = tf.cast(tf.equal(tf.cast(targets["task"], tf.int32), task), tf.float32)
            # Other tasks' labels may exceed this head's classes: clamp them before the
            # lookup; the mask zeroes their loss and gradient.
            safe = tf.where(mask > 0, labels, tf.zeros_like(labels))
            per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=logits) * mask
            share = 1 if task is None else tasks
            total += share * tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
            correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), safe), tf.float32) * mask
            suffix = key[len("logits"):]
            count = tf.reduce_sum(mask)
            logs[f"loss{suffix}"] = (tf.reduce_sum(per_example), count)
            logs[f"accuracy{suffix}"] = (tf.reduce_sum(correct), count)
        return total, logs

    return loss_fn


def classification_loss(tasks: list[str]) -> LossFn:
    """The paper's loss for a model built with tfx_models.kinds.two_stream.build_model over `tasks`."""
    if len(tasks) == 1:
        return cross_entropy_heads({"logits": None})
    return cross_entropy_heads({f"logits_{t}": i for i, t in enumerate(tasks)})


def heads_loss(prefixes: list[str], tasks: list[str]) -> LossFn:
    """Cross-entropy on every head named by a logits prefix, per task (two-tower kinds' heads)."""
    if len(tasks) == 1:
        return cross_entropy_heads({p: None for p in prefixes})
    return cross_entropy_heads({f"{p}_{t}": i for p in prefixes for i, t in enumerate(tasks)})


def contrastive(distance: tf.Tensor, similar: tf.Tensor, margin: float) -> tf.Tensor:
    """Per-pair contrastive loss L = s D^2 + (1 - s) max(0, m - D)^2.

    s = 1 for a similar pair (pulled together), 0 for a dissimilar one (pushed
    at least the margin m apart). Hadsell et al. (2006) write
    (1 - Y) D^2 / 2 + Y max(0, m - D)^2 / 2 with Y = 0 for similar pairs;
    keras.io's siamese example uses 1 = similar but applies the loss to a
    sigmoid output, not to a distance. This is the issue's form: s = 1 similar,
    without Hadsell's 1/2 factors (twice his loss; the weight absorbs it).
    """
    s = tf.cast(similar, tf.float32)
    return s * tf.square(distance) + (1.0 - s) * tf.square(tf.maximum(margin - distance, 0.0))


def embedding_distance(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Euclidean distance per row; its gradient stays finite when a == b (sqrt is clamped at 1e-12)."""
    squared = tf.reduce_sum(tf.square(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)), axis=-1)
    return tf.sqrt(tf.maximum(squared, 1e-12))


def siamese_loss(margin: float, weight: float) -> LossFn:
    """Softmax cross-entropy on both branches, each masked by its label mask, plus weight x the
    contrastive loss of the branches' embeddings (targets from tfx_models.data.pairs)."""
    def loss_fn(outputs: dict, targets: dict, global_batch_size: int):
        total = tf.constant(0.0, tf.float32)
        logs: Logs = {}
        for side in ("a", "b"):
            labels = tf.cast(targets[f"label_{side}"], tf.int32)
            mask = tf.cast(targets[f"label_mask_{side}"], tf.float32)
            logits = tf.cast(outputs[f"logits_{side}"], tf.float32)
            per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits) * mask
            total += tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
            correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), tf.float32) * mask
            logs[f"loss_{side}"] = (tf.reduce_sum(per_example), tf.reduce_sum(mask))
            logs[f"accuracy_{side}"] = (tf.reduce_sum(correct), tf.reduce_sum(mask))
        similar = tf.cast(targets["similar"], tf.float32)
        distance = embedding_distance(outputs["embedding_a"], outputs["embedding_b"])
        per_pair = contrastive(distance, similar, margin)
        total += weight * tf.nn.compute_average_loss(per_pair, global_batch_size=global_batch_size)
        logs["loss_contrastive"] = (tf.reduce_sum(per_pair), tf.cast(tf.size(per_pair), tf.float32))
        logs["distance_similar"] = (tf.reduce_sum(distance * similar), tf.reduce_sum(similar))
        logs["distance_dissimilar"] = (tf.reduce_sum(distance * (1 - similar)), tf.reduce_sum(1 - similar))
        return total, logs

    return loss_fn


def end_point_error(predicted: tf.Tensor, true: tf.Tensor, valid: tf.Tensor | None = None) -> tf.Tensor:
    """Per-example end-point error [N] of flow [N,...,2]: the mean over valid pixels of ||f_pred - f_true||_2
    (valid [N,...] bool, default all); an example without a valid pixel scores 0."""
    error = tf.norm(tf.cast(predicted, tf.float32) - tf.cast(true, tf.float32), axis=-1)
    mask = tf.ones_like(error) if valid is None else tf.cast(valid, tf.float32)
    axes = list(range(1, len(error.shape)))
    return tf.reduce_sum(error * mask, axes) / tf.maximum(tf.reduce_sum(mask, axes), 1.0)
