"""The findings table (docs/findings.md): each paper finding as a paired comparison of two
models scored on the same test videos.

Built by `python -m results.findings` from the list of findings there.

A finding names two rows of `tfx_models.evaluate` outputs (a split folder and a row label),
the paper's claim about them ('a > b', 'a >= b' or 'a ~ b', see
tfx_models.evaluation.paired.verdict) and, where the paper's claim is about one kind of
class, the cue group to restrict the videos to. Rows are aligned by video id, so two
evaluations of the same split compare video for video. A finding whose evaluations do not
exist yet is listed as not measured rather than left out.
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass

import numpy as np

from results.recall_by_cue import cue_of_class
from tfx_models.evaluation import paired
from tfx_models.evaluation.protocol import slug

NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Row:
    split_dir: str   # an evaluation's split folder, relative to the root (<eval>/<dataset>_split_<n>)
    label: str       # the row label tfx_models.evaluate printed
    name: str        # what the table calls it


@dataclass(frozen=True)
class Finding:
    paper: str
    finding: str
    claim: str       # of a against b
    a: Row
    b: Row
    command: str
    cue: str = ""    # restrict to the classes of one cue group ("motion only", ...)


def row_outcomes(root: str, row: Row) -> tuple[dict[str, tuple[bool, str]], str]:
    """{video id: (right or wrong, true class name)} of one row, and the row's dataset."""
    split_dir = os.path.join(root, row.split_dir)
    scores = np.load(os.path.join(split_dir, "video_scores.npz"))
    key = slug(row.label)
    if key not in scores.files:
        raise ValueError(f"{split_dir}/video_scores.npz: no row {row.label!r}; it holds {sorted(scores.files)}")
    with open(os.path.join(split_dir, key + ".json")) as f:
        classes = json.load(f)["classes"]
    right = scores[key].argmax(axis=1) == scores["labels"]
    dataset = os.path.basename(os.path.normpath(split_dir)).split("_split_")[0]
    return {str(i): (bool(r), classes[int(y)]) for i, r, y in zip(scores["ids"], right, scores["labels"])}, dataset


def measure(root: str, finding: Finding) -> dict | None:
    """The paired comparison of a finding, or None when an evaluation is missing."""
    if not all(os.path.exists(os.path.join(root, r.split_dir, "video_scores.npz")) for r in (finding.a, finding.b)):
        return None
    a, dataset = row_outcomes(root, finding.a)
    b, _ = row_outcomes(root, finding.b)
    if set(a) != set(b):
        raise ValueError(f"{finding.a.split_dir} and {finding.b.split_dir} score different test videos "
                         f"({len(set(a) ^ set(b))} differ); a paired comparison needs the same ones")
    ids = sorted(a)
    if finding.cue:
        cues = cue_of_class(dataset)
        ids = [i for i in ids if cues[a[i][1]] == finding.cue]
    comparison = paired.compare([a[i][0] for i in ids], [b[i][0] for i in ids])
    return {**comparison.to_dict(), "verdict": paired.verdict(comparison, finding.claim)}


def markdown(root: str, findings: list[Finding]) -> tuple[str, list[dict]]:
    header = ["paper", "finding", "a", "b", "a − b [95% CI]", "McNemar p", "test videos", "verdict", "command"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    data = []
    for f in findings:
        result = measure(root, f)
        if result is None:
            cells = [f"{f.a.name}", f"{f.b.name}", "-", "-", "-", NOT_MEASURED]
        else:
            cells = [f"{f.a.name} {100 * result['accuracy_a']:.1f}%", f"{f.b.name} {100 * result['accuracy_b']:.1f}%",
                     f"{100 * result['difference']:+.1f} [{100 * result['low']:+.1f}, {100 * result['high']:+.1f}]",
                     f"{result['mcnemar_p']:.3g}", str(result["videos"]), f"**{result['verdict']}**"]
        scope = f" ({f.cue} classes)" if f.cue else ""
        lines.append(f"| {f.paper} | {f.finding}{scope} | " + " | ".join(cells) + f" | `{f.command}` |")
        data.append({"paper": f.paper, "finding": f.finding, "claim": f.claim, "cue": f.cue, "a": f.a.name,
                     "b": f.b.name, "command": f.command, "result": result})
    return "\n".join(lines) + "\n", data
