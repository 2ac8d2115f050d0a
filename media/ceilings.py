"""What a model family can reach on a class table: the accuracy of a Bayes-optimal classifier on what it sees.

The table is the benchmark's cue table (beam_pipelines.synth.classes.cue_table), read from
the records' dataset_info.json, so evaluation needs no renderer. Per class: variants
(probability, objects in view, the motions each does in order) and, for classes whose
object does two motions, the pause between them in flow steps (uniform integers).

A family's View says what it sees: appearance (the textures in view), motion (the motions
done), whether it sees them bound (appearance and motion at the same place: fused before
spatial pooling), and its span (consecutive flow steps one input covers, to which it is
sensitive in order). Two motions of one object are seen in order when the span holds the
pause between them and a step of each (span >= pause + 2); test-time inputs tile the clip
densely, so then one of them does. Otherwise the family sees them as a set. For each
observation the best classifier picks the class most likely to have produced it:

    ceiling = sum over observations o of  max_c n_c P(o | c)  /  sum_c n_c

with n_c the test videos of class c.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

# The cue table's file beside a rendered set (the ingest job copies it into dataset_info.json).
CUE_TABLE_FILE = "classes.json"
# Recall groups of the cue table, in display order.
CUE_GROUPS = ("motion only", "appearance only", "both", "where", "when")
UNORDERED = "in either order"


@dataclass(frozen=True)
class View:
    """What a model family sees of a clip."""

    appearance: bool
    motion: bool
    bound: bool = False  # appearance and motion at the same place
    span: int = 0        # consecutive flow steps one input covers in order


# The families at the configurations of tfx_models/experiments (results scale): L=10 flow stacks;
# conv fusion at conv5; 3D conv + 3D pool over T=5 snippets at the test stride tau=10 (a 3x3x3 kernel
# orders 3 snippets: 2 tau + L); m-fusion at conv5 or fc7; 16-frame clips at stride 1.
FAMILIES = {
    "spatial (one RGB frame)": View(True, False),
    "temporal (L=10 flow stack)": View(False, True, span=10),
    "late fusion (spatial + temporal scores)": View(True, True, span=10),
    "conv fusion at conv5 (T=1, or 2D pooling over T)": View(True, True, bound=True, span=10),
    "3D conv + 3D pool (T=5, tau=10)": View(True, True, bound=True, span=30),
    "m-fusion at conv5": View(True, True, bound=True, span=10),
    "m-fusion at fc7": View(True, True, span=10),
    "S3D-G student, D3D, aux-flow (16 RGB frames)": View(True, True, bound=True, span=15),
    "D3D teacher (16 flow fields)": View(False, True, span=16),
    "Siamese (one RGB frame per branch)": View(True, False),
}


def clip_view(streams: tuple[str, ...], *, length: int = 10, snippets: int = 1, stride: int = 1,
              bound: bool = True, ordered_snippets: int | None = None) -> View:
    """The view of a model over `streams` ("spatial" RGB, "temporal" flow) fed `snippets` inputs
    `stride` frames apart (a clip: frames, or L-field stacks). `ordered_snippets`: how many
    consecutive snippets one output sees in order (default all; a 3x3x3 conv then a pool over
    time: 3; pooling or averaging each snippet: 1). `bound`: a joint model fused at a conv layer."""
    ordered = snippets if ordered_snippets is None else min(ordered_snippets, snippets)
    rgb, flow = "spatial" in streams, "temporal" in streams
    if rgb and not flow:
        if snippets == 1:
            return View(True, False)
        return View(True, True, bound=True, span=(ordered - 1) * stride)  # frames show motion
    span = (ordered - 1) * stride + length
    return View(rgb, True, bound=rgb and bound, span=span)


def _motions(motions: list[str], ordered: bool) -> tuple:
    return tuple(motions) if ordered or len(motions) < 2 else (UNORDERED, *sorted(motions))


def order_seen(entry: dict, view: View) -> float:
    """P(the view sees the order of a class's two motions): the share of its pauses it spans."""
    if not entry.get("gap"):
        return 1.0
    low, high = entry["gap"]
    return float(np.mean([gap + 2 <= view.span for gap in range(low, high + 1)]))


def observations(entry: dict, view: View) -> dict[tuple, float]:
    """P(observation | class) for one class of a cue table."""
    if not (view.appearance or view.motion):
        raise ValueError("a view sees appearance, motion or both")
    found: dict[tuple, float] = defaultdict(float)
    q = order_seen(entry, view)
    for variant in entry["variants"]:
        for ordered, p in ((True, q), (False, 1 - q)):
            if p == 0:
                continue
            objects = [(o["kit"], _motions(list(o["motions"]), ordered)) for o in variant["objects"]]
            if view.appearance and view.motion and view.bound:
                seen = (tuple(sorted(objects)),)
            else:
                seen = ((tuple(sorted(kit for kit, _ in objects)),) if view.appearance else ()) + (
                    (tuple(sorted(m for _, m in objects if m)),) if view.motion else ())
            found[seen] += variant["p"] * p
    return dict(found)


def ceiling(table: dict, view: View, counts: dict[str, int] | None = None) -> float:
    """Best accuracy over test videos of a cue table's classes (table["classes"]) for `view`;
    counts: test videos per class (default: one each)."""
    classes = table["classes"]
    counts = counts or {name: 1 for name in classes}
    missing = set(counts) - set(classes)
    if missing:
        raise ValueError(f"counts name classes not in the cue table: {sorted(missing)}")
    best: dict[tuple, float] = defaultdict(float)
    for name, entry in classes.items():
        for seen, p in observations(entry, view).items():
            best[seen] = max(best[seen], counts.get(name, 0) * p)
    return sum(best.values()) / sum(counts.values())


def family_ceilings(table: dict, families: dict[str, View] | None = None,
                    counts: dict[str, int] | None = None) -> dict[str, float]:
    """Each family's ceiling on a cue table."""
    return {name: ceiling(table, view, counts) for name, view in (families or FAMILIES).items()}


def table_for(info: dict) -> dict | None:
    """The cue table a dataset_info.json carries if it names exactly the records' classes, else
    None (a real dataset: no ceiling is known)."""
    table = info.get("cue_table")
    return table if table and set(table["classes"]) == set(info.get("classes", ())) else None


def row_ceiling(table: dict, classes: list[str], view: View, labels) -> float:
    """Ceiling of a row on test videos with these labels (indices into classes)."""
    names, counts = np.unique(np.asarray(labels), return_counts=True)
    return ceiling(table, view, {classes[int(i)]: int(n) for i, n in zip(names, counts)})


def ceiling_by_cue(table: dict, classes: list[str], view: View, labels) -> dict[str, float]:
    """A row's ceiling on the test videos of each cue group alone (a finding about one group, e.g.
    the "where" classes, is judged against this, not the whole split's)."""
    labels = np.asarray(labels)
    groups = np.array([table["classes"][classes[int(i)]]["cue_group"] for i in labels])
    return {group: row_ceiling(table, classes, view, labels[groups == group])
            for group in CUE_GROUPS if (groups == group).any()}


def recall_by_cue(table: dict, per_class_recall: dict[str, float]) -> dict[str, float]:
    """Mean recall over the classes of each cue group."""
    groups: dict[str, list[float]] = defaultdict(list)
    for name, recall in per_class_recall.items():
        groups[table["classes"][name]["cue_group"]].append(recall)
    return {group: float(np.mean(groups[group])) for group in CUE_GROUPS if group in groups}


def markdown(tables: dict[str, dict], families: dict[str, View] | None = None) -> str:
    """Ceilings per family (rows) on each named cue table (columns), as a markdown table."""
    names = list(tables)
    lines = ["| family | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for family, view in (families or FAMILIES).items():
        lines.append(f"| {family} | " + " | ".join(f"{100 * ceiling(tables[n], view):.1f}%" for n in names) + " |")
    return "\n".join(lines)
