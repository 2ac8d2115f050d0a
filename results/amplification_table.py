"""Park et al.'s (WACV 2016) poster tables from trained runs: feature amplification, multiplicative
fusion, both together, and recall by cue, with the poster's figures beside ours as the anchor.

    python -m results.amplification_table --runs out/amplification/runs/ucf101 \
        [--runs out/amplification/runs/hmdb51] --out out/amplification/eval

Each --runs folder (one per dataset) holds the runs results/amplification_table.sh trains, by
folder name: spatial, temporal, amplified_flow, amplified_learned, m_fusion_conv5, m_fusion_fc7,
conv_fusion, and the frozen-tower ablations m_fusion_conv5_frozen and m_fusion_fc7_frozen (of
those, amplified_learned and the last three are optional). Every run is scored by tfx_models.evaluate
(per-row JSON and PNGs under --out/<dataset>); the late combinations (S+T, S(amp)+T,
S+T+M, ...) average the video-level softmax scores of the runs they name, as the poster's "+"
does. The "together" rows amplify with the flow gate (the poster's hand-crafted one).
"""
from __future__ import annotations

import argparse
import json
import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import numpy as np

from results.paired_rows import compare_correct, save_rows, section
from results.recall_by_cue import GROUPS, cue_of_class, markdown as cue_markdown
from tfx_models.evaluation import metrics

RUNS = {  # run folder -> row label
    "temporal": "T",
    "spatial": "S",
    "amplified_flow": "S amp (flow gate)",
    "amplified_learned": "S amp (learned gate)",
    "m_fusion_conv5": "M-fuse conv5",
    "m_fusion_fc7": "M-fuse fc7",
    "conv_fusion": "Conv fusion at conv5, T kept (Feichtenhofer et al. 2016)",
    # Ablations: the towers frozen, only the classifier on the product trained.
    "m_fusion_conv5_frozen": "M-fuse conv5, towers frozen",
    "m_fusion_fc7_frozen": "M-fuse fc7, towers frozen",
}
REQUIRED = ("spatial", "temporal", "amplified_flow", "m_fusion_conv5", "m_fusion_fc7")
COMBINATIONS = {  # row label -> the runs whose softmax scores it averages
    "S+T": ("spatial", "temporal"),
    "S amp (flow gate)+T": ("amplified_flow", "temporal"),
    "S amp (learned gate)+T": ("amplified_learned", "temporal"),
    "S+T+M-fuse conv5": ("spatial", "temporal", "m_fusion_conv5"),
    "S+T+M-fuse fc7": ("spatial", "temporal", "m_fusion_fc7"),
    "S amp+T+M-fuse conv5": ("amplified_flow", "temporal", "m_fusion_conv5"),
    "S amp+T+M-fuse fc7": ("amplified_flow", "temporal", "m_fusion_fc7"),
}
# The poster's figures (%, as issue 10 quotes them); rows it does not give are left out.
POSTER = {
    "ucf101": {"S": 78.8, "S amp (flow gate)": 81.0, "S+T": 87.8, "S amp (flow gate)+T": 88.5,
               "Base A": 82.2, "Base B": 81.0, "M-fuse conv5": 84.4, "M-fuse fc7": 87.6,
               "S+T+M-fuse": 88.3, "S amp+T+M-fuse conv5": 88.9, "S amp+T+M-fuse fc7": 89.1},
    "hmdb51": {"S": 40.3, "S amp (flow gate)": 44.9, "S+T": 50.1, "S amp (flow gate)+T": 54.5,
               "S+T+M-fuse": 54.4, "S amp+T+M-fuse conv5": 56.2, "S amp+T+M-fuse fc7": 54.9},
}
# Table rows: (row name, our row label, the poster's key).
AMPLIFICATION = [("T", "T", None, None), ("S", "S", "S amp (flow gate)", "S amp (learned gate)"),
                 ("S+T", "S+T", "S amp (flow gate)+T", "S amp (learned gate)+T")]
M_FUSION = [("Base A (spatial)", "S", "Base A"), ("Base B (temporal)", "T", "Base B"),
            ("M-fuse conv5", "M-fuse conv5", "M-fuse conv5"), ("M-fuse fc7", "M-fuse fc7", "M-fuse fc7"),
            ("M-fuse conv5, towers frozen (ablation)", RUNS["m_fusion_conv5_frozen"], None),
            ("M-fuse fc7, towers frozen (ablation)", RUNS["m_fusion_fc7_frozen"], None)]
TOGETHER = [("S+T", "S+T", "S+T"), ("S+T+M-fuse conv5", "S+T+M-fuse conv5", "S+T+M-fuse"),
            ("S+T+M-fuse fc7", "S+T+M-fuse fc7", "S+T+M-fuse"),
            ("S(amp)+T+M-fuse conv5", "S amp+T+M-fuse conv5", "S amp+T+M-fuse conv5"),
            ("S(amp)+T+M-fuse fc7", "S amp+T+M-fuse fc7", "S amp+T+M-fuse fc7"),
            ("Conv fusion at conv5, T kept", RUNS["conv_fusion"], None)]


def score_runs(runs_dir: str, out_dir: str, *, num_frames: int, crops: int) -> dict:
    """Evaluates the runs of one dataset; returns {dataset, classes, labels, scores: {row: [V,C]}}."""
    from tfx_models.evaluation.protocol import evaluate_models, slug
    from tfx_models.runs import load_model_from_run

    missing = [name for name in REQUIRED if not os.path.isdir(os.path.join(runs_dir, name))]
    if missing:
        raise FileNotFoundError(f"{runs_dir}: no run folders {missing} (results/amplification_table.sh trains them)")
    models, settings, record_dir = {}, {}, None
    for name, label in RUNS.items():
        if os.path.isdir(os.path.join(runs_dir, name)):
            models[label], settings[label] = load_model_from_run(os.path.join(runs_dir, name))
            record_dir = record_dir or settings[label]["records"][0]
    dataset = settings["S"]["tasks"][0]
    split = f"{dataset} split 1"
    evaluate_models(models, record_dir, out_dir, split=split, settings=settings, num_frames=num_frames, crops=crops,
                    svm=False)
    saved = np.load(os.path.join(out_dir, slug(split), "video_scores.npz"))
    scores = {label: saved[slug(label)] for label in models}
    classes = list(settings["S"]["classes"][dataset])
    combined = {label: np.mean([scores[RUNS[p]] for p in parts], axis=0)
                for label, parts in COMBINATIONS.items() if all(RUNS[p] in scores for p in parts)}
    save_rows(os.path.join(out_dir, slug(split)), combined, classes)
    return {"dataset": dataset, "classes": classes, "labels": saved["labels"], "scores": {**scores, **combined}}


# The poster's claims (row a, row b, claim of a against b), and our frozen-tower ablation.
COMPARISONS = [("S amp (flow gate)", "S", "a > b"), ("S amp (flow gate)+T", "S+T", "a > b"),
               ("S+T+M-fuse conv5", "S+T", "a > b"), ("S+T+M-fuse fc7", "S+T", "a > b"),
               ("M-fuse conv5", RUNS["m_fusion_conv5_frozen"], "a > b"),
               ("M-fuse fc7", RUNS["m_fusion_fc7_frozen"], "a > b")]


def paired_comparisons(scored: dict) -> str:
    """The comparisons whose two rows were scored, paired on the test videos."""
    right = {label: s.argmax(axis=1) == scored["labels"] for label, s in scored["scores"].items()}
    results = [(a, b, claim, compare_correct(right[a], right[b], claim))
               for a, b, claim in COMPARISONS if a in right and b in right]
    return section(results) if results else ""


def summarise(scored: dict) -> dict[str, dict]:
    """row -> accuracy and recall by cue group (mean recall over the group's classes)."""
    cues = cue_of_class(scored["dataset"])
    rows = {}
    for label, scores in scored["scores"].items():
        summary = metrics.summary(scored["labels"], scores, scored["classes"])
        by_cue = {}
        for group in GROUPS.values():
            recalls = [r for name, r in summary["per_class_recall"].items() if cues.get(name) == group and r is not None]
            if recalls:
                by_cue[group] = float(np.mean(recalls))
        rows[label] = {"accuracy": summary["accuracy"], "recall_by_cue": by_cue, "videos": summary["videos"]}
    return rows


def _cell(rows: dict, label: str | None) -> str:
    return f"{100 * rows[label]['accuracy']:.1f}" if label in rows else "–"


def _poster(dataset: str, key: str | None) -> str:
    value = POSTER.get(dataset, {}).get(key)
    return "–" if value is None else f"{value:.1f}"


def tables(dataset: str, rows: dict) -> str:
    """The poster's three tables and the recall by cue, for one dataset, as markdown."""
    lines = [f"#### {dataset}: feature amplification (accuracy %)", "",
             "| | Base | Amp (flow gate) | Amp (learned gate) | poster Base | poster Amp |", "|---|---|---|---|---|---|"]
    for name, base, flow, learned in AMPLIFICATION:
        poster_amp = "S amp (flow gate)" if name == "S" else "S amp (flow gate)+T" if name == "S+T" else None
        lines.append(f"| {name} | {_cell(rows, base)} | {_cell(rows, flow)} | {_cell(rows, learned)} | "
                     f"{_poster(dataset, base)} | {_poster(dataset, poster_amp)} |")
    lines += ["", f"#### {dataset}: multiplicative fusion (accuracy %)", "", "| | ours | poster |", "|---|---|---|"]
    lines += [f"| {name} | {_cell(rows, ours)} | {_poster(dataset, key)} |" for name, ours, key in M_FUSION]
    lines += ["", f"#### {dataset}: together (accuracy %)", "", "| | ours | poster |", "|---|---|---|"]
    lines += [f"| {name} | {_cell(rows, ours)} | {_poster(dataset, key)} |" for name, ours, key in TOGETHER
              if ours in rows]
    lines += ["", "Base A / Base B are read as the spatial and the temporal stream. The poster's S+T+m-fuse row "
              "does not name the fusion layer: its figure stands beside both of ours.",
              "", f"#### {dataset}: recall by cue", "",
              cue_markdown({label: row["recall_by_cue"] for label, row in rows.items()}), ""]
    return "\n".join(lines)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(prog="python -m results.amplification_table",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", action="append", required=True, help="one dataset's run folders (repeat)")
    parser.add_argument("--out", required=True, help="output folder: per-dataset evaluation, tables .md/.json")
    parser.add_argument("--num_frames", type=int, default=25)
    parser.add_argument("--crops", type=int, default=10, choices=(1, 2, 5, 10))
    args = cli.add_flags(parser).parse_args(argv)
    parts, results = [], {}
    for runs_dir in args.runs:
        scored = score_runs(runs_dir, os.path.join(args.out, os.path.basename(os.path.normpath(runs_dir))),
                            num_frames=args.num_frames, crops=args.crops)
        rows = summarise(scored)
        results[scored["dataset"]] = rows
        parts.append(tables(scored["dataset"], rows))
        pairs = paired_comparisons(scored)
        if pairs:
            parts.append(f"#### {scored['dataset']}: paired, on the test videos\n\n{pairs}")
    text = "\n".join(parts)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "amplification_tables.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "amplification_tables.json"), "w") as f:
        json.dump({"rows": results, "poster": POSTER, "num_frames": args.num_frames, "crops": args.crops}, f, indent=2)
    print(text)
    print(f"wrote {args.out}/amplification_tables.md and .json")
    return text


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
