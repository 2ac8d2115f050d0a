"""docs/d3d.md's D3D table: teacher, student, D3D (mse, kl) and the late fusions, over splits, with recall by cue.

    python -m results.d3d_table --out out/d3d_table [--splits 1 2 3] [--steps 600] [--synth out/small/synth]

Per split of the synthetic UCF-like set: ingest (DIS flow, 112 px) if its records are missing, then
train (python -m tfx_models.train; a rerun resumes, and a run already trained to its budget is
reused as it is: delete it to retrain with other settings) the flow teacher (demo_d3d_teacher;
--teacher_steps may train it longer than the rest), the RGB student without distillation
(demo_d3d_student) and the student distilled from that teacher with each loss form (demo_d3d_mse,
demo_d3d_kl), and, from the trained student, D3D (MSE) against its control trained for the same
steps without a teacher (demo_d3d_mse_from_student, demo_d3d_student_continued; --continue_steps),
the auxiliary-flow student the paper compares D3D with (demo_d3d_aux), and a sweep of lambda
(--mse_weights); evaluate all of them on the held-out videos (tfx_models.evaluate: clips over the
whole video, scores averaged) and average each RGB model's scores with the teacher's (two-stream late
fusion). Writes <out>/d3d_table.md and .json and prints the table: accuracy per split, the mean, and the
mean per-class recall over the classes told apart by motion only, appearance only, or both.
"""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import numpy as np

from media.ceilings import CUE_GROUPS
from results.paired_rows import compare_sources, save_rows, section
from results.recall_by_cue import cue_of_class
from tfx_models.evaluation import late_fusion, metrics

EXPERIMENTS = {"teacher": "demo_d3d_teacher", "student": "demo_d3d_student", "d3d_mse": "demo_d3d_mse",
               "d3d_kl": "demo_d3d_kl", "student_continued": "demo_d3d_student_continued",
               "d3d_mse_continued": "demo_d3d_mse_from_student", "aux": "demo_d3d_aux"}
CONTINUED = ("student_continued", "d3d_mse_continued")  # start from the trained student
ROWS = {"teacher": "Teacher: S3D-G on flow clips", "student": "Student: S3D-G on RGB clips, no distillation",
        "d3d_mse": "D3D: student distilled, MSE on logits", "d3d_kl": "D3D: student distilled, KL at tau 2",
        "student_continued": "Control: trained student, more steps without a teacher",
        "d3d_mse_continued": "D3D from the trained student, MSE on logits",
        "aux": "Auxiliary-flow student: S3D-G on RGB, flow decoded from mixed_3b",
        "fusion_student": "Two-stream: student + teacher (late fusion)",
        "fusion_d3d_mse": "D3D (MSE) + teacher (late fusion)", "fusion_d3d_kl": "D3D (KL) + teacher (late fusion)"}
ANCHORS = ("Paper anchors (Stroud et al., WACV 2020; S3D-G with Kinetics pre-training, real videos): D3D top-1 "
           "75.9 on Kinetics-400, 97.1 on UCF-101, 78.7 on HMDB-51. Not comparable with the synthetic benchmark.")


def run(command: list[str]) -> str:
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def ensure_records(synth: str, records: str, split: int, python: str) -> None:
    if not os.path.exists(os.path.join(synth, "benchmark.json")):
        run([python, "-m", "beam_pipelines.synth", "--out", synth, "--seed", "0", "--profile", "small"])
    if not os.path.exists(os.path.join(records, "summary.json")):
        run([python, "-m", "beam_pipelines.ingest", "--format", "ucf101", "--root", os.path.join(synth, "ucf101"),
             "--split", str(split), "--output", records, "--flow", "dis", "--size", "112", "--num_shards", "2"])


# The comparisons the paper makes (row a, row b, claim of a against b); the sweep's rows add
# theirs against the student.
COMPARISONS = [("d3d_mse", "student", "a > b"), ("d3d_kl", "student", "a > b"),
               ("d3d_mse_continued", "student_continued", "a > b"), ("d3d_mse", "aux", "a > b")]


def paired_section(eval_root: str, splits: list[int], mse_weights: list[float] = ()) -> str:
    """The paired comparisons over every split's test videos (<eval_root>/s<split>/<split folder>)."""
    folders = {}
    for split in splits:
        [split_dir] = glob.glob(os.path.join(eval_root, f"s{split}", "*", "video_scores.npz"))
        folders[f"s{split}"] = os.path.dirname(split_dir)
    comparisons = COMPARISONS + [(lambda_row(w), "student", "a > b") for w in mse_weights]
    names = {**ROWS, **{lambda_row(w): lambda_label(w) for w in mse_weights}}
    results = []
    for a, b, claim in comparisons:
        result = compare_sources({s: (d, a) for s, d in folders.items()}, {s: (d, b) for s, d in folders.items()},
                                 claim, what=f"{a} and {b}")
        results.append((names[a], names[b], claim, result))
    return section(results)


def lambda_row(weight: float) -> str:
    return f"d3d_mse_lambda_{weight:g}"


def lambda_label(weight: float) -> str:
    return f"D3D: student distilled, MSE on logits, lambda {weight:g}"


def train_runs(records: str, run_root: str, *, steps: int, continue_steps: int, seed: int, python: str,
               extra: list[str], mse_weights: list[float] = (), teacher_steps: int | None = None,
               names: tuple[str, ...] | None = None) -> dict:
    """Trains (or reuses) the table's runs, or only `names` of them (the teacher among them for D3D)."""
    from tfx_models.runs import trained_to

    runs = {}
    planned = [(name, experiment, []) for name, experiment in EXPERIMENTS.items()]
    planned += [(lambda_row(w), EXPERIMENTS["d3d_mse"], [f"distill.weight={w:g}"]) for w in mse_weights]
    planned = [plan for plan in planned if names is None or plan[0] in names]
    for name, experiment, own in planned:
        run_dir = runs[name] = os.path.join(run_root, name)
        budget = {"teacher": teacher_steps or steps}.get(name, continue_steps if name in CONTINUED else steps)
        if trained_to(run_dir, budget):
            print(f"{name}: trained to step {budget}, reused", flush=True)
            continue
        overrides = [f"data.records={records}", f"train.steps={budget}", f"train.seed={seed}", *extra, *own]
        if name in CONTINUED:
            overrides.append(f"model.init_run={runs['student']}")
        if name.startswith("d3d"):
            overrides.append(f"distill.teacher_run={runs['teacher']}")
        out = run([python, "-m", "tfx_models.train", "--config", f"tfx_models/experiments/{experiment}.py",
                   "--run_dir", run_dir, *[a for o in overrides for a in ("--set", o)]])
        print(out.strip().splitlines()[-1], flush=True)
    return runs


def split_rows(runs: dict[str, str], records: str, eval_dir: str, *, num_frames: int, crops: int) -> dict[str, dict]:
    """{row key: metrics.summary} of one split: the runs, and each RGB run of the student, D3D (MSE)
    and D3D (KL) averaged with the teacher."""
    from tfx_models.evaluation.protocol import evaluate_models
    from tfx_models.runs import load_model_from_run

    models, settings = {}, {}
    for name, run_dir in runs.items():
        models[name], settings[name] = load_model_from_run(run_dir)
    result = evaluate_models(models, records, eval_dir, settings=settings, num_frames=num_frames, crops=crops,
                             svm=False)
    [split_dir] = [d for d in os.listdir(eval_dir) if os.path.isdir(os.path.join(eval_dir, d))]
    scores = np.load(os.path.join(eval_dir, split_dir, "video_scores.npz"))
    classes = settings["teacher"]["classes"][settings["teacher"]["tasks"][0]]
    rows = {name: result["rows"][name] for name in runs}
    fused = {f"fusion_{name}": late_fusion.average_scores(scores[name], scores["teacher"])
             for name in ("student", "d3d_mse", "d3d_kl") if name in runs}
    save_rows(os.path.join(eval_dir, split_dir), fused, list(classes))
    rows.update({name: metrics.summary(scores["labels"], value, classes) for name, value in fused.items()})
    return rows


def cue_recall(summary: dict, cues: dict[str, str]) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for name, recall in summary["per_class_recall"].items():
        if recall is not None:
            groups.setdefault(cues[name], []).append(recall)
    return {group: float(np.mean(values)) for group, values in groups.items()}


def table(per_split: dict[int, dict[str, dict]], cues: dict[str, str], mse_weights: list[float] = ()
          ) -> tuple[str, dict]:
    splits = sorted(per_split)
    groups = [g for g in CUE_GROUPS if g in set(cues.values())]
    header = ["Method"] + [f"split {s}" for s in splits] + ["mean"] + [f"recall, {g}" for g in groups]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    data = {}
    rows = {**ROWS, **{lambda_row(w): lambda_label(w) for w in mse_weights}}
    for key, label in rows.items():
        accuracy = [per_split[s][key]["accuracy"] for s in splits]
        by_cue = [cue_recall(per_split[s][key], cues) for s in splits]
        recall = {g: float(np.mean([c[g] for c in by_cue if g in c])) for g in groups if any(g in c for c in by_cue)}
        data[label] = {"accuracy": dict(zip(map(str, splits), accuracy)), "mean_accuracy": float(np.mean(accuracy)),
                       "recall_by_cue": recall, "videos": [per_split[s][key]["videos"] for s in splits]}
        cells = [f"{100 * a:.1f}%" for a in accuracy] + [f"{100 * np.mean(accuracy):.1f}%"]
        cells += [f"{100 * recall[g]:.1f}%" if g in recall else "-" for g in groups]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + ANCHORS + "\n", data


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.d3d_table", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for records, runs, evaluations and the table")
    parser.add_argument("--synth", default="out/small/synth", help="synthetic benchmark (rendered if missing)")
    parser.add_argument("--splits", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--steps", type=int, default=600, help="training steps of every run")
    parser.add_argument("--teacher_steps", type=int, help="training steps of the teacher (default: --steps)")
    parser.add_argument("--continue_steps", type=int, help="steps of the runs from the trained student "
                        "(default: half of --steps)")
    parser.add_argument("--mse_weights", type=float, nargs="*", default=[],
                        help="extra D3D (MSE) runs from scratch at these lambdas (the sweep)")
    parser.add_argument("--num_frames", type=int, default=10, help="test clips per video")
    parser.add_argument("--crops", type=int, default=1, choices=(1, 2, 5, 10), help="crops per test clip")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="extra override for every run (e.g. a smaller model.width for a smoke run)")
    args = cli.add_flags(parser).parse_args(argv)
    python = sys.executable
    per_split = {}
    for split in args.splits:
        records = os.path.join(args.out, "records", f"ucf101-s{split}")
        ensure_records(args.synth, records, split, python)
        runs = train_runs(records, os.path.join(args.out, "runs", f"s{split}"), steps=args.steps,
                          continue_steps=args.continue_steps or args.steps // 2, seed=split, python=python,
                          extra=args.set, mse_weights=args.mse_weights, teacher_steps=args.teacher_steps)
        per_split[split] = split_rows(runs, records, os.path.join(args.out, "eval", f"s{split}"),
                                      num_frames=args.num_frames, crops=args.crops)
    # The records' own class groups (the "wherewhen" set's where/when), else the UCF-like table's.
    cues = per_split[args.splits[0]]["teacher"].get("cue_groups") or cue_of_class("ucf101")
    markdown, data = table(per_split, cues, args.mse_weights)
    markdown += "\nPaired, on every split's test videos:\n\n" + paired_section(
        os.path.join(args.out, "eval"), args.splits, args.mse_weights)
    with open(os.path.join(args.out, "d3d_table.md"), "w") as f:
        f.write(markdown)
    metrics.write_json(os.path.join(args.out, "d3d_table.json"),
                       {"splits": args.splits, "steps": args.steps, "teacher_steps": args.teacher_steps or args.steps,
                        "mse_weights": args.mse_weights, "num_frames": args.num_frames, "crops": args.crops,
                        "overrides": args.set, "rows": data})
    print(markdown)


if __name__ == "__main__":
    sys.exit(cli.run(main))
