"""Per-seed summary of demo-scale runs: does the temporal stream learn motion, and does fusion pay?

    python -m results.seed_study --eval out/seeds/s101/eval --eval out/seeds/s102/eval ...

Each --eval is the output of `tfx_models.evaluate` for one seed's spatial and temporal
runs. Prints, per seed: the accuracy of each stream and of their late fusions, the
temporal stream's recall on the motion-only classes, and how far fusion by averaging is
above the better stream, with the targets of issue 15 (motion-only recall >= 85% on
average, averaging >= 5 points above both streams on every seed).
"""
from __future__ import annotations

import argparse
import json
import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import numpy as np

from results.recall_by_cue import recall_by_cue
from tfx_models.evaluation.protocol import AVERAGE_ROW, SVM_OOF_ROW, SVM_ROW

MOTION_TARGET = 0.85
FUSION_MARGIN = 0.05


def _row(rows: dict, prefix: str) -> str | None:
    return next((label for label in rows if label.startswith(prefix)), None)


def seed_summary(eval_dir: str, dataset: str = "ucf101") -> dict:
    with open(os.path.join(eval_dir, "results.json")) as f:
        rows = json.load(f)["rows"]
    cues = recall_by_cue(eval_dir, dataset)
    labels = {name: _row(rows, prefix) for name, prefix in (
        ("spatial", "Spatial"), ("temporal", "Temporal"), ("averaging", AVERAGE_ROW),
        ("svm", SVM_ROW + " ("), ("svm_out_of_fold", SVM_OOF_ROW))}
    if labels["svm"] is None:
        labels["svm"] = next((r for r in rows if r == SVM_ROW), None)
    missing = [name for name in ("spatial", "temporal", "averaging") if labels[name] is None]
    if missing:
        raise ValueError(f"{eval_dir}/results.json: no {missing} rows; evaluate a spatial and a temporal run")
    summary = {name: rows[label]["mean_accuracy"] for name, label in labels.items() if label}
    summary["temporal_motion_recall"] = cues[labels["temporal"]]["motion only"]
    summary["averaging_motion_recall"] = cues[labels["averaging"]]["motion only"]
    summary["fusion_margin"] = summary["averaging"] - max(summary["spatial"], summary["temporal"])
    return summary


def markdown(names: list[str], summaries: list[dict]) -> str:
    columns = [("spatial", "Spatial"), ("temporal", "Temporal"), ("averaging", "Averaging"), ("svm", "SVM"),
               ("svm_out_of_fold", "SVM, out-of-fold"), ("temporal_motion_recall", "Temporal, motion-only recall"),
               ("averaging_motion_recall", "Averaging, motion-only recall"),
               ("fusion_margin", "Averaging minus better stream")]
    columns = [(k, title) for k, title in columns if any(k in s for s in summaries)]
    lines = ["| Seed | " + " | ".join(title for _, title in columns) + " |", "|---|" + "---|" * len(columns)]

    def cell(value, key):
        if value is None:
            return "-"
        return f"{100 * value:+.1f}" if key == "fusion_margin" else f"{100 * value:.1f}%"

    for name, s in zip(names, summaries):
        lines.append(f"| {name} | " + " | ".join(cell(s.get(k), k) for k, _ in columns) + " |")
    mean = {k: float(np.mean([s[k] for s in summaries if k in s])) for k, _ in columns}
    lines.append("| mean | " + " | ".join(cell(mean[k], k) for k, _ in columns) + " |")
    motion = mean["temporal_motion_recall"]
    margins = [s["fusion_margin"] for s in summaries]
    lines.append("")
    lines.append(f"Temporal motion-only recall, mean over seeds: {100 * motion:.1f}% (target >= "
                 f"{100 * MOTION_TARGET:.0f}%: {'met' if motion >= MOTION_TARGET else 'not met'}). "
                 f"Averaging above the better stream by {', '.join(f'{100 * m:+.1f}' for m in margins)} points "
                 f"(target >= {100 * FUSION_MARGIN:.0f} on every seed: "
                 f"{'met' if min(margins) >= FUSION_MARGIN else 'not met'}).")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.seed_study", description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", action="append", required=True, help="one evaluate --out folder per seed")
    parser.add_argument("--dataset", default="ucf101", choices=("ucf101", "hmdb51"))
    args = cli.add_flags(parser).parse_args(argv)
    names = [os.path.basename(os.path.dirname(os.path.normpath(d))) or d for d in args.eval]
    print(markdown(names, [seed_summary(d, args.dataset) for d in args.eval]))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
