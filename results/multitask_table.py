"""Simonyan & Zisserman's Table 2 (multi-task learning of the temporal net) from the evaluations
results/multitask_table.sh writes, with the paper's figures beside ours.

    python -m results.multitask_table --eval out/multitask/eval

Reads `<eval>/<dataset>/<run>/s<split>/` (one evaluated row each): per row the accuracy of each
split, their mean, and the recall by cue (motion only, appearance only, both) averaged over the
splits. The paper's rows are HMDB-51 temporal nets (split 1); its UCF-101 figures are the
single-task temporal net's.
"""
from __future__ import annotations

import glob
import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import numpy as np

from results import eval_table
from results.paired_rows import compare_sources, section, single_row_source
from results.recall_by_cue import GROUPS, cue_cells, mean_by_cue, single_row

# (dataset, run folder, row label, the paper's accuracy in %)
ROWS = [
    ("hmdb51", "hmdb_only", "HMDB-like alone", 46.6),
    ("hmdb51", "hmdb_finetuned", "HMDB-like, fine-tuned from a UCF-like net", 49.0),
    ("hmdb51", "hmdb_plus_ucf", "HMDB-like + the UCF-like classes it lacks", 52.8),
    ("hmdb51", "multitask", "Multi-task (UCF-like + HMDB-like), HMDB-like head", 55.4),
    ("ucf101", "ucf_only", "UCF-like alone", None),
    ("ucf101", "multitask", "Multi-task, UCF-like head", None),
]


# The paper's claims: each way of adding the UCF-like set helps the HMDB-like temporal net.
COMPARISONS = [(("hmdb51", "hmdb_finetuned"), ("hmdb51", "hmdb_only"), "a > b"),
               (("hmdb51", "hmdb_plus_ucf"), ("hmdb51", "hmdb_only"), "a > b"),
               (("hmdb51", "multitask"), ("hmdb51", "hmdb_only"), "a > b"),
               (("ucf101", "multitask"), ("ucf101", "ucf_only"), "a >= b")]


def paired_section(eval_dir: str, splits: list[str]) -> str:
    """The comparisons on the test videos of the splits both rows were evaluated on."""
    label = {(dataset, run): name for dataset, run, name, _ in ROWS}
    results = []
    for a, b, claim in COMPARISONS:
        sources = [{s: found for s in splits if (found := single_row_source(os.path.join(eval_dir, *row, s)))}
                   for row in (a, b)]
        if (result := compare_sources(*sources, claim, what=f"{label[a]} and {label[b]}")) is not None:
            results.append((label[a], label[b], claim, result))
    return section(results) if results else ""


def table(eval_dir: str) -> tuple[str, dict]:
    splits = sorted({os.path.basename(p) for p in glob.glob(os.path.join(eval_dir, "*", "*", "s*"))})
    if not splits:
        raise ValueError(f"{eval_dir}: no <dataset>/<run>/s<split> evaluations; run results/multitask_table.sh")
    cue_names = list(GROUPS.values())
    lines = ["| Test set | Training | " + " | ".join(f"split {s[1:]}" for s in splits) + " | mean | paper | "
             + " | ".join(f"recall, {c}" for c in cue_names) + " |",
             "|---|---|" + "---|" * (len(splits) + 2 + len(cue_names))]
    rows = {}
    for dataset, run, label, paper in ROWS:
        found = {s: single_row(os.path.join(eval_dir, dataset, run, s))
                 for s in splits if os.path.isdir(os.path.join(eval_dir, dataset, run, s))}
        if not found:
            continue
        accuracy = {s: found[s][0] for s in found}
        mean_cues = mean_by_cue([recall for _, recall in found.values()], dataset)
        mean = float(np.mean(list(accuracy.values())))
        rows[f"{dataset}/{run}"] = {"accuracy": accuracy, "mean": mean, "recall_by_cue": mean_cues}
        cells = [f"{100 * accuracy[s]:.1f}%" if s in accuracy else "-" for s in splits]
        lines.append(f"| {dataset} | {label} | " + " | ".join(cells) + f" | {100 * mean:.1f}% | "
                     + ("-" if paper is None else f"{paper}%") + " | " + cue_cells(mean_cues) + " |")
    pairs = paired_section(eval_dir, splits)
    if pairs:
        lines += ["", "Paired, on the test videos of the splits both rows have:", "", pairs.rstrip()]
    return "\n".join(lines), rows


def main(argv=None) -> None:
    eval_table.main(table, "results.multitask_table", __doc__, "results/multitask_table.sh", argv)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
