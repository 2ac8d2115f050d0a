"""The findings table (docs/findings.md): each paper finding as a paired comparison of two
models scored on the same test videos.

Built by `python -m results.findings` from the list of findings there.

A finding names two rows of `tfx_models.evaluate` outputs (a split folder and a row label),
the paper's claim about them ('a > b', 'a >= b' or 'a ~ b', see
tfx_models.evaluation.paired.verdict) and, where the paper's claim is about one kind of
class, the cue group to restrict the videos to. Rows are aligned by video id, so two
evaluations of the same split compare video for video. A finding whose evaluations do not
exist yet is listed as not measured rather than left out. Two rows that both do no better than
guessing on the compared videos leave the finding unresolved, "(both at chance)".
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from results.paired_rows import compare_outcomes, row_outcomes, single_row_source
from tfx_models.evaluation.protocol import slug

NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Row:
    split_dir: str   # an evaluation's split folder, relative to the root (<eval>/<dataset>_split_<n>)
    label: str       # the row label tfx_models.evaluate printed ("": the one row of a one-run evaluation)
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


def measure(root: str, finding: Finding) -> dict | None:
    """The paired comparison of a finding, or None when an evaluation is missing."""
    dirs = [os.path.join(root, r.split_dir) for r in (finding.a, finding.b)]
    if not all(os.path.exists(os.path.join(d, "video_scores.npz")) for d in dirs):
        return None
    a, dataset = row_outcomes(dirs[0], finding.a.label or _only_label(dirs[0]))
    b, _ = row_outcomes(dirs[1], finding.b.label or _only_label(dirs[1]))
    recorded = _row_json(root, finding.a)
    return compare_outcomes(a, b, finding.claim, dataset=dataset, cue=finding.cue, cues=recorded.get("cue_groups"),
                            what=f"{finding.a.split_dir} and {finding.b.split_dir}",
                            classes=len(recorded["classes"]) if "classes" in recorded else None)


def _only_label(split_dir: str) -> str:
    found = single_row_source(os.path.dirname(split_dir))
    if found is None or os.path.normpath(found[0]) != os.path.normpath(split_dir):
        raise ValueError(f"{split_dir}: not the evaluation of a single run; name the row's label")
    return found[1]


def _row_json(root: str, row: Row) -> dict:
    split_dir = os.path.join(root, row.split_dir)
    with open(os.path.join(split_dir, slug(row.label or _only_label(split_dir)) + ".json")) as f:
        return json.load(f)


def ceiling(root: str, row: Row, cue: str = "") -> float | None:
    """The benchmark's ceiling for a row's inputs over the whole split, or over one cue group's
    videos, as tfx_models.evaluate recorded it (None where it recorded none, e.g. a builder's late
    combination, or an evaluation older than the per-group ceilings)."""
    recorded = _row_json(root, row)
    return recorded.get("ceiling_by_cue", {}).get(cue) if cue else recorded.get("ceiling")


def _ceiling_cell(root: str, f: Finding) -> str:
    values = [ceiling(root, r, f.cue) for r in (f.a, f.b)]
    return " / ".join("-" if v is None else f"{100 * v:.1f}%" for v in values)


def markdown(root: str, findings: list[Finding]) -> tuple[str, list[dict]]:
    header = ["paper", "finding", "a", "b", "ceiling (a / b)", "a − b [95% CI]", "McNemar p", "test videos",
              "verdict", "command"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    data = []
    for f in findings:
        result = measure(root, f)
        if result is None:
            cells = [f"{f.a.name}", f"{f.b.name}", "-", "-", "-", "-", NOT_MEASURED]
        else:
            cells = [f"{f.a.name} {100 * result['accuracy_a']:.1f}%", f"{f.b.name} {100 * result['accuracy_b']:.1f}%",
                     _ceiling_cell(root, f),
                     f"{100 * result['difference']:+.1f} [{100 * result['low']:+.1f}, {100 * result['high']:+.1f}]",
                     f"{result['mcnemar_p']:.3g}", str(result["videos"]),
                     f"**{result['verdict']}**" + (" (both at chance)" if result.get("at_chance") else "")]
        scope = f" ({f.cue} classes)" if f.cue else ""
        lines.append(f"| {f.paper} | {f.finding}{scope} | " + " | ".join(cells) + f" | `{f.command}` |")
        data.append({"paper": f.paper, "finding": f.finding, "claim": f.claim, "cue": f.cue, "a": f.a.name,
                     "b": f.b.name, "command": f.command, "result": result})
    return "\n".join(lines) + "\n", data
