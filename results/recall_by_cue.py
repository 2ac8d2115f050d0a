"""Per-class recall of an evaluation, averaged over the synthetic benchmark's cue groups.

    python -m results.recall_by_cue --eval out/table/eval [--dataset ucf101]

The paper's ordering (temporal above spatial) is a statement about motion; on the
synthetic benchmark half the classes are defined by appearance alone, so the overall
accuracy hides it. This groups the recall `tfx_models.evaluate` wrote per row and
split by what tells each class from its look-alikes (the class table's last column):
motion only, appearance only, or both. Prints a markdown table (mean over splits).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
from collections import defaultdict

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import numpy as np

from beam_pipelines.synth.classes import CUE_GROUPS as GROUPS, classes_of, cue_group


def cue_of_class(dataset: str) -> dict[str, str]:
    return {name: cue_group(cls) for name, cls in classes_of(dataset)}


def recall_by_cue(eval_dir: str, dataset: str) -> dict[str, dict[str, float]]:
    """row -> cue group -> mean recall over the group's classes and over the splits."""
    cues = cue_of_class(dataset)
    found: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(glob.glob(os.path.join(eval_dir, f"{dataset}_split_*", "*.json"))):
        with open(path) as f:
            result = json.load(f)
        unknown = set(result["per_class_recall"]) - set(cues)
        if unknown:
            raise ValueError(f"{path}: classes {sorted(unknown)} are not in the synthetic {dataset} class table")
        for name, recall in result["per_class_recall"].items():
            found[result["row"]][cues[name]].append(recall)
    if not found:
        raise ValueError(f"{eval_dir}: no {dataset}_split_*/*.json; run python -m tfx_models.evaluate --out {eval_dir}")
    return {row: {group: float(np.mean(values)) for group, values in groups.items()}
            for row, groups in found.items()}


def single_row(eval_dir: str) -> tuple[float, dict[str, float]]:
    """(video accuracy, per-class recall) of the one row tfx_models.evaluate wrote to eval_dir."""
    found = []
    for path in glob.glob(os.path.join(eval_dir, "*", "*.json")):
        with open(path) as f:
            result = json.load(f)
        if "per_class_recall" in result:
            found.append(result)
    if len(found) != 1:
        raise ValueError(f"{eval_dir}: expected one evaluated row, found {len(found)}")
    return found[0]["accuracy"], found[0]["per_class_recall"]


def by_cue(recall: dict[str, float], dataset: str) -> dict[str, float]:
    """Per-class recall -> mean recall per cue group."""
    cues = cue_of_class(dataset)
    grouped = defaultdict(list)
    for name, value in recall.items():
        grouped[cues[name]].append(value)
    return {group: float(np.mean(values)) for group, values in grouped.items()}


def mean_by_cue(recalls: list[dict[str, float]], dataset: str) -> dict[str, float]:
    """Per-class recall of several evaluations (e.g. splits) -> each cue group's mean over them."""
    groups = [by_cue(recall, dataset) for recall in recalls]
    return {c: float(np.mean([g[c] for g in groups if c in g])) for c in GROUPS.values()
            if any(c in g for g in groups)}


def cue_cells(cues: dict[str, float]) -> str:
    """Markdown cells of a row's recall per cue group, in GROUPS order ("-" where absent)."""
    return " | ".join(f"{100 * cues[c]:.1f}%" if c in cues else "-" for c in GROUPS.values())


def markdown(table: dict[str, dict[str, float]]) -> str:
    groups = [g for g in GROUPS.values() if any(g in row for row in table.values())]
    lines = ["| Method | " + " | ".join(f"recall, {g}" for g in groups) + " |",
             "|---|" + "---|" * len(groups)]
    for row, values in table.items():
        lines.append(f"| {row} | " + " | ".join(f"{100 * values[g]:.1f}%" if g in values else "-"
                                                 for g in groups) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.recall_by_cue", description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", required=True, help="--out folder of python -m tfx_models.evaluate")
    parser.add_argument("--dataset", default="ucf101", choices=("ucf101", "hmdb51"))
    args = cli.add_flags(parser).parse_args(argv)
    print(markdown(recall_by_cue(args.eval, args.dataset)))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
