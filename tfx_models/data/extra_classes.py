"""Extra classes from another dataset (Sect. 4, Table 2: "+ UCF-101 classes").

The paper's second way to add training data to HMDB-51: take the UCF-101
classes that HMDB-51 lacks and train one softmax over the union. A class of
the other dataset counts as shared when its name matches one of the task's
with case and punctuation ignored ("BounceBall" and "bounce_ball"); shared
classes are left out, so no video is given two labels for one action. The
task's own classes keep their indices and the extra ones follow, which is what
lets evaluation score the task's test set on the first columns.
"""
from __future__ import annotations

import re


def normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def merge(task_classes: list[str], extra: list[list[str]]) -> tuple[list[str], list[list[int]]]:
    """(the task's classes + every new class in order, per extra dataset a map from its label to
    the merged label or -1 for a class the task already has)."""
    merged = list(task_classes)
    index = {normalised(c): i for i, c in enumerate(merged)}
    maps = []
    for classes in extra:
        label_map = []
        for name in classes:
            key = normalised(name)
            if key in index and index[key] < len(task_classes):
                label_map.append(-1)
                continue
            if key not in index:
                index[key] = len(merged)
                merged.append(name)
            label_map.append(index[key])
        maps.append(label_map)
    return merged, maps
