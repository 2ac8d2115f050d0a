"""Cross-fitting folds over groups of a training split.

An SVM fused on the training videos' scores learns from streams that have
memorised those videos (their training scores are near-perfect), so it learns
to trust whichever stream memorised best. Fitting it on out-of-fold scores
(each training video scored by streams trained without its group) gives it the
scores it will see on test videos. Folds are over groups, not videos, because
the clips of one group share a scene: a stream that saw one of them has half
seen the others. One fold function serves the training sampler and evaluate.
"""
from __future__ import annotations

import tensorflow as tf


def fold_of(groups, folds: int) -> tf.Tensor:
    """The fold (0..folds-1) of each group name: a fixed hash, the same in every process."""
    if folds < 2:
        raise ValueError(f"folds must be >= 2 to hold one out, got {folds}")
    return tf.strings.to_hash_bucket_fast(groups, folds)

