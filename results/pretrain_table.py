"""Simonyan & Zisserman's Table 1a (the spatial net: from scratch, pre-trained + fine-tuned,
pre-trained + last layer; dropout 0.5 and 0.9) from the evaluations results/pretrain_table.sh
writes, with the paper's figures (UCF-101 split 1) beside ours.

    python -m results.pretrain_table --eval out/pretrain/eval

Reads `<eval>/<setting>_d<dropout>/` (one evaluated row each, on the UCF-like set's split 1):
per row the accuracy and the recall by cue (motion only, appearance only, both). If
`<eval>/pretrain/` holds the pre-trained run's score on its own held-out clips, a line under
the table says how well the pre-training task was learned.
"""
from __future__ import annotations

import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

from results import eval_table
from results.recall_by_cue import GROUPS, by_cue, cue_cells, single_row

# (run folder prefix, row label, the paper's accuracy in % at dropout 0.5 and 0.9)
SETTINGS = [
    ("scratch", "From scratch", {0.5: 42.5, 0.9: 52.3}),
    ("finetune", "Pre-trained + fine-tuning", {0.5: 70.8, 0.9: 72.8}),
    ("last_layer", "Pre-trained + last layer", {0.5: 72.7, 0.9: 59.9}),
]
DROPOUTS = (0.5, 0.9)
PRETRAIN = "pretrain"


def run_folder(setting: str, dropout: float) -> str:
    return f"{setting}_d{dropout:g}"


def table(eval_dir: str) -> tuple[str, dict]:
    cue_names = list(GROUPS.values())
    lines = ["| Training setting | Dropout | accuracy | paper | "
             + " | ".join(f"recall, {c}" for c in cue_names) + " |",
             "|---|---|---|---|" + "---|" * len(cue_names)]
    rows = {}
    for setting, label, paper in SETTINGS:
        for dropout in DROPOUTS:
            folder = os.path.join(eval_dir, run_folder(setting, dropout))
            if not os.path.isdir(folder):
                continue
            accuracy, recall = single_row(folder)
            cues = by_cue(recall, "ucf101")
            rows[run_folder(setting, dropout)] = {"accuracy": accuracy, "paper": paper[dropout], "recall_by_cue": cues}
            lines.append(f"| {label} | {dropout:g} | {100 * accuracy:.1f}% | {paper[dropout]}% | "
                         + cue_cells(cues) + " |")
    if not rows:
        raise ValueError(f"{eval_dir}: no <setting>_d<dropout> evaluations; run results/pretrain_table.sh")
    pretrain = os.path.join(eval_dir, PRETRAIN)
    if os.path.isdir(pretrain):
        accuracy, recall = single_row(pretrain)
        rows[PRETRAIN] = {"accuracy": accuracy, "classes": len(recall)}
        lines.append(f"\nPre-training task: {len(recall)} appearance classes, {100 * accuracy:.1f}% of its "
                     "held-out clips (the paper's ImageNet net: 13.5% top-5 error on ILSVRC-2012 validation).")
    return "\n".join(lines), rows


def main(argv=None) -> None:
    eval_table.main(table, "results.pretrain_table", __doc__, "results/pretrain_table.sh", argv)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
