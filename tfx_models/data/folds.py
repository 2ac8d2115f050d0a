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
    """The fold (0..folds-1) of each group name, the same in every process.

    Numbered groups (UCF-101's "g08") go round-robin, so consecutive groups fill
    the folds evenly; other names (HMDB-51's file stems) by a fixed hash.
    """
    if folds < 2:
        raise ValueError(f"folds must be >= 2 to hold one out, got {folds}")
    groups = tf.convert_to_tensor(groups, tf.string)
    numbered = tf.strings.regex_full_match(groups, r"[A-Za-z]?[0-9]{1,9}")
    digits = tf.strings.regex_replace(groups, r"[^0-9]", "")
    number = tf.strings.to_number(tf.where(numbered, digits, "0"), tf.int64)
    return tf.where(numbered, number % folds, tf.strings.to_hash_bucket_fast(groups, folds))

