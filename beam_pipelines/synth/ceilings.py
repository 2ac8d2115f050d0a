"""What the benchmark lets a net reach: the accuracy of a Bayes-optimal classifier per cue.

Every class is an appearance kit crossed with a motion (classes.py); a "mixed" class draws
one of MIXED_MOTIONS per clip, uniformly. A net that sees only appearance observes the kit,
one that sees only motion observes the clip's concrete motion, and one that sees both
observes the pair. For each observation the best classifier picks the class most likely
to have produced it, so its accuracy is

    sum over observations o of  max_c n_c P(o | c)  /  sum_c n_c

with n_c the test videos of class c. An under-trained net is then told apart from a
broken one by how much of its ceiling it reaches, not by its raw accuracy.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable

import numpy as np

from beam_pipelines.synth.classes import MIXED_MOTIONS, SynthClass, classes_of

CUES = ("appearance", "motion")
DATASETS = ("ucf101", "hmdb51", "multiview")
# What tells a class from its look-alikes (the class table's last column), as recall groups.
CUE_GROUPS = {"temporal": "motion only", "spatial": "appearance only", "both": "both"}
# The cues each input sees: one RGB frame, stacked flow, or an RGB clip (a 3D net reads motion
# from its frames too).
STREAM_CUES = {"spatial": ("appearance",), "temporal": ("motion",), "rgb_clip": ("appearance", "motion")}


def observations(cls: SynthClass, cues: Iterable[str], mixed=MIXED_MOTIONS) -> dict[tuple, float]:
    """P(observation | class) for a classifier that sees `cues`."""
    cues = tuple(cues)
    unknown = set(cues) - set(CUES)
    if unknown:
        raise ValueError(f"unknown cues {sorted(unknown)}; choose from {CUES}")
    motions = mixed if cls.motion == "mixed" else (cls.motion,)
    found: dict[tuple, float] = defaultdict(float)
    for motion in motions:
        seen = {"appearance": cls.kit, "motion": motion}
        found[tuple(seen[c] for c in cues)] += 1.0 / len(motions)
    return dict(found)


def ceiling(classes: dict[str, SynthClass], cues: Iterable[str], counts: dict[str, int] | None = None,
            mixed=MIXED_MOTIONS) -> float:
    """Best accuracy over test videos of `classes` (name -> class) for a classifier seeing `cues`;
    counts: test videos per class (default: equal)."""
    cues = tuple(cues)
    counts = counts or {name: 1 for name in classes}
    missing = set(counts) - set(classes)
    if missing:
        raise ValueError(f"counts name classes not in the table: {sorted(missing)}")
    best: dict[tuple, float] = defaultdict(float)
    for name, cls in classes.items():
        for seen, p in observations(cls, cues, mixed).items():
            best[seen] = max(best[seen], counts.get(name, 0) * p)
    return sum(best.values()) / sum(counts.values())


def stream_cues(streams: Iterable[str]) -> tuple[str, ...]:
    """The cues a model over these inputs sees (keys of STREAM_CUES)."""
    cues = set()
    for stream in streams:
        if stream not in STREAM_CUES:
            raise ValueError(f"unknown stream {stream!r}; choose from {sorted(STREAM_CUES)}")
        cues.update(STREAM_CUES[stream])
    return tuple(c for c in CUES if c in cues)


def dataset_ceilings(dataset: str, counts: dict[str, int] | None = None) -> dict[str, float]:
    """Ceilings of one benchmark set ('ucf101', 'hmdb51', 'multiview') for appearance only,
    motion only, and both, over its test split's class counts."""
    classes = dict(classes_of(dataset))
    return {"appearance": ceiling(classes, ("appearance",), counts),
            "motion": ceiling(classes, ("motion",), counts),
            "both": ceiling(classes, CUES, counts)}


def cue_group(cls: SynthClass) -> str:
    return CUE_GROUPS[cls.stream.split()[0]]


def benchmark_set(dataset: str) -> str:
    """The benchmark set a record set's dataset name refers to: one view of the multi-view set
    is ingested on its own as multiview_view0, multiview_view1 (results/siamese_table.sh)."""
    return re.sub(r"^multiview_view\d+$", "multiview", dataset)


def benchmark_table(dataset: str, classes: Iterable[str]) -> dict[str, SynthClass] | None:
    """The class table of `dataset` if `classes` are exactly its names (the embedded benchmark),
    else None (a real dataset: no ceiling is known)."""
    dataset = benchmark_set(dataset)
    table = dict(classes_of(dataset)) if dataset in DATASETS else {}
    return table if table and set(classes) == set(table) else None


def row_ceiling(dataset: str, classes: list[str], streams: Iterable[str], labels) -> float | None:
    """Ceiling of a model over `streams` on test videos with these labels (indices into classes)."""
    table = benchmark_table(dataset, classes)
    if table is None:
        return None
    names, counts = np.unique(np.asarray(labels), return_counts=True)
    return ceiling(table, stream_cues(streams), {classes[int(i)]: int(n) for i, n in zip(names, counts)})


def recall_by_cue(dataset: str, per_class_recall: dict[str, float]) -> dict[str, float] | None:
    """Mean recall over the classes of each cue group, or None off the benchmark."""
    table = benchmark_table(dataset, per_class_recall)
    if table is None:
        return None
    groups: dict[str, list[float]] = defaultdict(list)
    for name, recall in per_class_recall.items():
        groups[cue_group(table[name])].append(recall)
    return {group: float(np.mean(groups[group])) for group in CUE_GROUPS.values() if group in groups}
