"""Feichtenhofer et al.'s (CVPR 2016) Tables 1-3 from the runs and evaluations
results/fusion_tables.sh writes, late fusion as the baseline, with the paper's figures beside ours.

    python -m results.fusion_tables --out out/fusion

Reads `<out>/eval/late/s<split>/` (the two streams and the three late fusions) and
`<out>/eval/<run>/s<split>/` (one fused run each), and counts the parameters of the runs
under `<out>/runs/s<split>/`. Accuracy per split, the mean over the splits that have the row,
recall by cue averaged over them, and our parameter count at the benchmark's scale (CNN-M
width 0.25, 96 px crops, 10 classes; the paper's counts are for full CNN-M-2048 towers at 224
px and 101 classes: docs/conv_fusion.md's parameter table compares those at the paper's scale).
"""
from __future__ import annotations

import argparse
import glob
import json
import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import numpy as np

from results.paired_rows import compare_sources, section, single_row_source
from results.recall_by_cue import GROUPS, cue_cells, mean_by_cue, single_row
from tfx_models.evaluation.protocol import AVERAGE_ROW, SVM_OOF_ROW, SVM_ROW

# (row label, where its scores are: ("late", evaluation row) or ("run", run folder), parameters
# from these runs, the paper's UCF-101 split-1 accuracy in % or None where we do not quote one)
LATE = [("Spatial", ("late", "Spatial"), ("spatial",), None),
        ("Temporal", ("late", "Temporal"), ("temporal",), None),
        ("Late fusion: averaging", ("late", AVERAGE_ROW), ("spatial", "temporal"), 85.94),
        ("Late fusion: SVM on training scores", ("late", SVM_ROW), ("spatial", "temporal"), None),
        ("Late fusion: SVM on out-of-fold scores", ("late", SVM_OOF_ROW), ("spatial", "temporal"), None)]
TABLE_1 = LATE + [(f"{name} fusion at ReLU5", ("run", f"{key}_conv5"), (f"{key}_conv5",), paper)
                  for name, key, paper in [("Sum", "sum", 85.20), ("Max", "max", 82.70),
                                           ("Concatenation", "concat", 83.53), ("Conv", "conv", 85.96),
                                           ("Bilinear", "bilinear", 85.05)]]
TABLE_2 = [("Conv fusion at ReLU3", ("run", "conv_conv3"), ("conv_conv3",), None),
           ("Conv fusion at ReLU4", ("run", "conv_conv4"), ("conv_conv4",), None),
           ("Conv fusion at ReLU5", ("run", "conv_conv5"), ("conv_conv5",), 85.96),
           ("Conv fusion at FC6", ("run", "conv_fc6"), ("conv_fc6",), None),
           ("Conv fusion at ReLU5, temporal tower kept (ReLU5 + FC8)", ("run", "conv_conv5_kept"),
            ("conv_conv5_kept",), None)]
TABLE_3 = [("T=5: 2D conv fusion + 2D pooling", ("run", "T5_2d_conv_2d_pool"), ("T5_2d_conv_2d_pool",), None),
           ("T=5: 2D conv fusion + 3D pooling", ("run", "T5_2d_conv_3d_pool"), ("T5_2d_conv_3d_pool",), None),
           ("T=5: 3D conv fusion + 3D pooling", ("run", "T5_3d_conv_3d_pool"), ("T5_3d_conv_3d_pool",), None)]
TABLES = {"Table 1: fusion type (ReLU5, temporal tower cut) and late fusion": TABLE_1,
          "Table 2: fusion layer (conv fusion)": TABLE_2,
          "Table 3: fusion over T=5 snippets (conv fusion at ReLU5)": TABLE_3}
# The comparisons each table makes in the paper: (row a, row b, claim of a against b).
COMPARISONS = {
    "Table 1: fusion type (ReLU5, temporal tower cut) and late fusion": [
        ("Conv fusion at ReLU5", "Late fusion: averaging", "a ~ b"),
        ("Late fusion: SVM on out-of-fold scores", "Late fusion: averaging", "a >= b")],
    "Table 2: fusion layer (conv fusion)": [
        ("Conv fusion at ReLU5", "Conv fusion at ReLU3", "a >= b"),
        ("Conv fusion at ReLU5", "Conv fusion at ReLU4", "a >= b"),
        ("Conv fusion at ReLU5", "Conv fusion at FC6", "a >= b")],
    "Table 3: fusion over T=5 snippets (conv fusion at ReLU5)": [
        ("T=5: 3D conv fusion + 3D pooling", "T=5: 2D conv fusion + 2D pooling", "a > b"),
        ("T=5: 2D conv fusion + 3D pooling", "T=5: 2D conv fusion + 2D pooling", "a > b")],
}


def late_rows(eval_dir: str) -> dict[str, tuple[float, dict]]:
    """Row label -> (accuracy, per-class recall) of a late-fusion evaluation."""
    rows = {}
    for path in glob.glob(os.path.join(eval_dir, "*", "*.json")):
        with open(path) as f:
            result = json.load(f)
        if "per_class_recall" in result:
            rows[result["row"]] = (result["accuracy"], result["per_class_recall"])
    return rows


def _parameters(out: str, split: str, runs: tuple[str, ...], cache: dict) -> int | None:
    from tfx_models.runs import load_model_from_run  # only when run dirs are there to count

    total = 0
    for run in runs:
        run_dir = os.path.join(out, "runs", split, run)
        if not os.path.isdir(run_dir):
            return None
        if run_dir not in cache:
            cache[run_dir] = load_model_from_run(run_dir)[0].count_params()
        total += cache[run_dir]
    return total


def row_source(out: str, source: str, key: str, split: str) -> tuple[str, str] | None:
    """(split folder, row label) of a table row's per-video scores on one split, if written."""
    if source == "run":
        return single_row_source(os.path.join(out, "eval", key, split))
    for split_dir in sorted(glob.glob(os.path.join(out, "eval", "late", split, "*", "video_scores.npz"))):
        split_dir = os.path.dirname(split_dir)
        for path in glob.glob(os.path.join(split_dir, "*.json")):
            with open(path) as f:
                row = json.load(f).get("row", "")
            if row == key or row.startswith(key + ":"):
                return split_dir, row
    return None


def paired_section(out: str, rows_spec: list, comparisons: list) -> str:
    """The table's paired comparisons on the test videos of the splits both rows have."""
    splits = sorted({os.path.basename(p) for p in glob.glob(os.path.join(out, "eval", "*", "s*"))})
    where = {label: src for label, src, _, _ in rows_spec}
    results = []
    for a, b, claim in comparisons:
        sources = [{s: found for s in splits if (found := row_source(out, *where[row], s))} for row in (a, b)]
        if (result := compare_sources(*sources, claim, what=f"{a} and {b}")) is not None:
            results.append((a, b, claim, result))
    return section(results) if results else ""


def table(out: str, rows_spec: list, *, count_parameters: bool = True) -> tuple[str, dict]:
    splits = sorted({os.path.basename(p) for p in glob.glob(os.path.join(out, "eval", "*", "s*"))})
    late = {s: late_rows(os.path.join(out, "eval", "late", s)) for s in splits}
    cue_names = list(GROUPS.values())
    lines = ["| Method | " + " | ".join(f"split {s[1:]}" for s in splits) + " | mean | parameters | paper | "
             + " | ".join(f"recall, {c}" for c in cue_names) + " |",
             "|---|" + "---|" * (len(splits) + 3 + len(cue_names))]
    found_rows, cache = {}, {}
    for label, (source, key), param_runs, paper in rows_spec:
        found = {}
        for s in splits:
            if source == "late" and (matches := [r for r in late[s] if r == key or r.startswith(key + ":")]):
                found[s] = late[s][matches[0]]
            elif source == "run" and os.path.isdir(os.path.join(out, "eval", key, s)):
                found[s] = single_row(os.path.join(out, "eval", key, s))
        if not found:
            continue
        accuracy = {s: a for s, (a, _) in found.items()}
        mean_cues = mean_by_cue([recall for _, recall in found.values()], "ucf101")
        mean = float(np.mean(list(accuracy.values())))
        parameters = _parameters(out, next(iter(found)), param_runs, cache) if count_parameters else None
        found_rows[label] = {"accuracy": accuracy, "mean": mean, "recall_by_cue": mean_cues, "parameters": parameters}
        lines.append(f"| {label} | " + " | ".join(f"{100 * accuracy[s]:.1f}%" if s in accuracy else "-" for s in splits)
                     + f" | {100 * mean:.1f}% | " + ("-" if parameters is None else f"{parameters:,}") + " | "
                     + ("-" if paper is None else f"{paper}%") + " | " + cue_cells(mean_cues) + " |")
    return "\n".join(lines), found_rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.fusion_tables", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="OUT of results/fusion_tables.sh")
    args = cli.add_flags(parser).parse_args(argv)
    results, text = {}, []
    for title, spec in TABLES.items():
        markdown, rows = table(args.out, spec)
        if rows:
            text += [f"**{title}**", "", markdown, ""]
            pairs = paired_section(args.out, spec, COMPARISONS[title])
            if pairs:
                text += ["Paired, on the test videos of the splits both rows have:", "", pairs]
            results[title] = rows
    with open(os.path.join(args.out, "tables.json"), "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
    print("\n".join(text))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
