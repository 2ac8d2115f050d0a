"""Rows of `tfx_models.evaluate` outputs compared on the same test videos, paired: the one
helper the findings table and every paper-table builder use.

    python -m results.paired_rows --a SPLIT_DIR "ROW LABEL" --b SPLIT_DIR "ROW LABEL" [--claim "a ~ b"]

A row is a split folder (<eval>/<dataset>_split_<n>, which holds video_scores.npz and one
JSON per row) and a row label. Rows of several splits pool their videos (ids prefixed by the
split), so a table over three splits compares on all its test videos. The difference, its
95% interval, the exact McNemar p and the verdict come from tfx_models.evaluation.paired.
"""
from __future__ import annotations

import argparse
import glob
import json
import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import numpy as np

from results.recall_by_cue import cue_of_class
from tfx_models.evaluation import paired
from tfx_models.evaluation.protocol import slug

Outcomes = dict[str, tuple[bool, str]]  # video id -> (right, true class name)


def row_outcomes(split_dir: str, label: str) -> tuple[Outcomes, str]:
    """Per-video outcomes of one row, and the split's dataset."""
    scores = np.load(os.path.join(split_dir, "video_scores.npz"))
    key = slug(label)
    if key not in scores.files:
        raise ValueError(f"{split_dir}/video_scores.npz: no row {label!r}; it holds {sorted(scores.files)}")
    with open(os.path.join(split_dir, key + ".json")) as f:
        classes = json.load(f)["classes"]
    right = scores[key].argmax(axis=1) == scores["labels"]
    dataset = os.path.basename(os.path.normpath(split_dir)).split("_split_")[0]
    return {str(i): (bool(r), classes[int(y)]) for i, r, y in zip(scores["ids"], right, scores["labels"])}, dataset


def save_rows(split_dir: str, rows: dict[str, np.ndarray], classes: list[str]) -> None:
    """Adds rows a builder computed from evaluated ones (late combinations of their scores) to
    the split's per-video scores, so that paired comparisons read them like any evaluated row."""
    path = os.path.join(split_dir, "video_scores.npz")
    saved = dict(np.load(path))
    saved.update({slug(label): value for label, value in rows.items()})
    np.savez(path, **saved)
    for label in rows:
        with open(os.path.join(split_dir, slug(label) + ".json"), "w") as f:
            json.dump({"row": label, "classes": classes}, f)


def single_row_source(eval_dir: str) -> tuple[str, str] | None:
    """(split folder, row label) of the one row an evaluation of one run wrote, if it has per-video scores."""
    for npz in sorted(glob.glob(os.path.join(eval_dir, "*", "video_scores.npz"))):
        split_dir = os.path.dirname(npz)
        labels = []
        for path in glob.glob(os.path.join(split_dir, "*.json")):
            with open(path) as f:
                labels.append(json.load(f).get("row"))
        labels = [label for label in labels if label]
        if len(labels) == 1:
            return split_dir, labels[0]
    return None


def pooled_outcomes(rows: dict[str, tuple[str, str]]) -> tuple[Outcomes, str]:
    """{split: (split_dir, label)} -> outcomes over every split, ids prefixed by their split."""
    found, datasets = {}, set()
    for split, (split_dir, label) in rows.items():
        outcomes, dataset = row_outcomes(split_dir, label)
        datasets.add(dataset)
        found.update({f"{split}/{i}": value for i, value in outcomes.items()})
    if len(datasets) != 1:
        raise ValueError(f"rows of different datasets {sorted(datasets)} cannot be pooled")
    return found, datasets.pop()


def compare_sources(a: dict[str, tuple[str, str]], b: dict[str, tuple[str, str]], claim: str,
                    what: str = "the two rows") -> dict | None:
    """Two rows given per split ({split: (split_dir, label)}) compared on the splits both have,
    or None when they share none."""
    common = sorted(set(a) & set(b))
    if not common:
        return None
    outcomes_a, dataset = pooled_outcomes({s: a[s] for s in common})
    outcomes_b, _ = pooled_outcomes({s: b[s] for s in common})
    return compare_outcomes(outcomes_a, outcomes_b, claim, dataset=dataset, what=what)


def compare_outcomes(a: Outcomes, b: Outcomes, claim: str, *, dataset: str = "", cue: str = "",
                     cues: dict[str, str] | None = None, what: str = "the two rows",
                     classes: int | None = None) -> dict:
    """The paired comparison of two rows' outcomes on the same videos (of one cue group if given;
    cues maps class -> cue group, by default the embedded benchmark's table for `dataset`); with
    `classes`, two rows both at chance leave the claim unresolved."""
    if set(a) != set(b):
        raise ValueError(f"{what} score different test videos ({len(set(a) ^ set(b))} differ); a paired "
                         "comparison needs the same ones")
    ids = sorted(a)
    if cue:
        cues = cues or cue_of_class(dataset)
        ids = [i for i in ids if cues[a[i][1]] == cue]
        if not ids:
            raise ValueError(f"{what}: no test video of a {cue!r} class")
    return compare_correct([a[i][0] for i in ids], [b[i][0] for i in ids], claim, classes=classes)


def compare_correct(correct_a, correct_b, claim: str, classes: int | None = None) -> dict:
    """The paired comparison of two per-video right/wrong vectors, with the claim's verdict."""
    comparison = paired.compare(correct_a, correct_b)
    result = {**comparison.to_dict(), "verdict": paired.verdict(comparison, claim, classes=classes)}
    if classes is not None:
        result["at_chance"] = not paired.learned(comparison, classes)
    return result


def section(results: list[tuple[str, str, str, dict]]) -> str:
    """Markdown lines for a table's paired comparisons: (row a, row b, claim, result)."""
    lines = ["| comparison | paper's claim | a − b [95% CI] | McNemar p | videos | verdict |",
             "|---|---|---|---|---|---|"]
    for name_a, name_b, claim, r in results:
        lines.append(f"| {name_a} vs {name_b} | {claim} | {100 * r['difference']:+.1f} [{100 * r['low']:+.1f}, "
                     f"{100 * r['high']:+.1f}] | {r['mcnemar_p']:.3g} | {r['videos']} | {r['verdict']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.paired_rows", description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", nargs=2, required=True, metavar=("SPLIT_DIR", "LABEL"))
    parser.add_argument("--b", nargs=2, required=True, metavar=("SPLIT_DIR", "LABEL"))
    parser.add_argument("--claim", default="a ~ b", choices=("a > b", "a >= b", "a ~ b"))
    parser.add_argument("--cue", default="", help="only the classes of one cue group, e.g. 'motion only'")
    args = cli.add_flags(parser).parse_args(argv)
    a, dataset = row_outcomes(*args.a)
    b, _ = row_outcomes(*args.b)
    print(json.dumps(compare_outcomes(a, b, args.claim, dataset=dataset, cue=args.cue), indent=1))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
