"""Classifier heads: one linear softmax classifier per task on one or more feature tensors.

Every kind builds its heads here, so every model honours one output contract
(tfx_models/kinds/two_stream.py): per task suffix s ('' for one task,
'_<task>' for each of several), `logits{s}` and `probabilities{s}`; with several
heads, each head's own `<prefix>logits{s}` and `<prefix>probabilities{s}`, and
`probabilities{s}` is the average of their softmax scores (the prediction).
Heads compute in float32 so mixed precision never changes the outputs' dtype.
"""
from __future__ import annotations

import keras

from tfx_models.layers.time import BatchToTime, TimeAverage


def head_names(tasks: list[str]) -> list[str]:
    """Output suffixes: '' for a single task, '_<task>' for each of several."""
    return [""] if len(tasks) == 1 else [f"_{t}" for t in tasks]


def classifier_heads(features: dict, num_classes: dict[str, int], *, average_as: str = "",
                     snippets: dict[str, int] | None = None) -> dict:
    """features: output prefix -> feature tensor, the model's own head ('') first.

    One entry: `logits{s}`, `probabilities{s}`. Several: each prefix's logits and
    probabilities (the own head's named `<average_as>_probabilities{s}`) and
    `probabilities{s}` = the average of their softmax scores. snippets: prefix -> T
    for features computed per snippet ([N*T, F]); their logits are averaged over T.
    """
    snippets = snippets or {}
    outputs = {}
    for suffix, classes in zip(head_names(list(num_classes)), num_classes.values()):
        logits = {}
        for prefix, x in features.items():
            name = f"{prefix}logits{suffix}"
            logits[prefix] = keras.layers.Dense(classes, dtype="float32", name=name)(x)
            if snippets.get(prefix, 1) > 1:
                logits[prefix] = TimeAverage(dtype="float32", name=f"{name}_snippet_mean")(
                    BatchToTime(snippets[prefix], name=f"{name}_clip")(logits[prefix]))
        outputs.update({f"{prefix}logits{suffix}": value for prefix, value in logits.items()})
        key = f"probabilities{suffix}"
        if len(features) == 1:
            outputs[key] = keras.layers.Softmax(dtype="float32", name=key)(logits[""])
            continue
        for prefix, value in logits.items():
            name = f"{prefix or average_as + '_'}probabilities{suffix}"
            outputs[name] = keras.layers.Softmax(dtype="float32", name=name)(value)
        outputs[key] = keras.layers.Average(dtype="float32", name=key)(
            [outputs[f"{prefix or average_as + '_'}probabilities{suffix}"] for prefix in logits])
    return outputs
