"""Issue 14's flow study from the evaluations results/flow_study.sh writes: the temporal stream's
accuracy when trained and tested on each optical flow algorithm, beside what that flow costs.

    python -m results.flow_study --eval out/flow_study/eval --synth out/small/synth

Reads `<eval>/<algorithm>/s<split>/` (one evaluated row each). Times each algorithm per pair on
the benchmark's clips at their native 112 px and at short side 256 (one OpenCV thread, as a Beam
worker runs it), measures its end-point error against the renderer's exact flow, and projects the
CPU-core-hours of forward flow for UCF-101 at 256 px (about 2.5 M frame pairs: 13,320 clips).
"""
from __future__ import annotations

import argparse
import glob
import json
import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import cv2
import numpy as np

from beam_pipelines.datasets import load_entries
from benchmarks.ingest_benchmark import DATASET, load_truth, measure_epe, measure_flow
from results.recall_by_cue import GROUPS, cue_cells, mean_by_cue, single_row
from media.flow import ALGORITHMS
from media.video import read_video, resize_short_side

UCF101_PAIRS = 2.5e6


def accuracy_rows(eval_dir: str) -> dict[str, dict]:
    rows = {}
    for algorithm in ALGORITHMS:
        found = {os.path.basename(p): single_row(p)
                 for p in sorted(glob.glob(os.path.join(eval_dir, algorithm, "s*")))}
        if found:
            rows[algorithm] = {"accuracy": {s: acc for s, (acc, _) in found.items()},
                               "mean": float(np.mean([acc for acc, _ in found.values()])),
                               "recall_by_cue": mean_by_cue([recall for _, recall in found.values()], DATASET)}
    if not rows:
        raise ValueError(f"{eval_dir}: no <algorithm>/s<split> evaluations; run results/flow_study.sh")
    return rows


def costs(synth: str, algorithms: list[str], *, videos: int, pairs: int, tvl1_pairs: int) -> dict[str, dict]:
    cv2.setNumThreads(1)
    paths = [e.path for e in load_entries(DATASET, split=1, root=os.path.join(synth, DATASET))[:videos]]
    native = [read_video(p).frames for p in paths]
    large = [resize_short_side(clip, 256) for clip in native]
    truth = [(clip, *load_truth(synth, p)) for clip, p in zip(native, paths)]
    out = {}
    for algorithm in algorithms:
        count = tvl1_pairs if algorithm == "tvl1" else pairs
        at_256 = measure_flow(large, algorithm, count)["ms_per_pair"]
        out[algorithm] = {"ms_per_pair_native": measure_flow(native, algorithm, count)["ms_per_pair"],
                          "ms_per_pair_256": at_256, "ucf101_core_hours_256": UCF101_PAIRS * at_256 / 3.6e6,
                          "epe_px": measure_epe(truth, algorithm, count)["epe"], "timed_pairs": count}
    return out


def markdown(rows: dict[str, dict], cost: dict[str, dict]) -> str:
    splits = sorted({s for row in rows.values() for s in row["accuracy"]})
    lines = ["| Flow | ms/pair, 112 px | ms/pair, 256 px | UCF-101 at 256 px, core-hours | EPE (px) | "
             + " | ".join(f"split {s[1:]}" for s in splits) + " | mean | "
             + " | ".join(f"recall, {c}" for c in GROUPS.values()) + " |",
             "|---|---|---|---|---|" + "---|" * (len(splits) + 1 + len(GROUPS))]
    for algorithm, row in rows.items():
        c = cost[algorithm]
        cells = [f"{100 * row['accuracy'][s]:.1f}%" if s in row["accuracy"] else "-" for s in splits]
        lines.append(f"| {algorithm} | {c['ms_per_pair_native']:.1f} | {c['ms_per_pair_256']:.1f} | "
                     f"{c['ucf101_core_hours_256']:.1f} | {c['epe_px']:.3f} | " + " | ".join(cells)
                     + f" | {100 * row['mean']:.1f}% | {cue_cells(row['recall_by_cue'])} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.flow_study", description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", required=True, help="OUT/eval of results/flow_study.sh")
    parser.add_argument("--synth", required=True, help="the rendered benchmark the records came from")
    parser.add_argument("--videos", type=int, default=4, help="clips to time the algorithms on")
    parser.add_argument("--pairs", type=int, default=60, help="pairs timed per algorithm")
    parser.add_argument("--tvl1_pairs", type=int, default=3, help="TV-L1 is about 1 s per 256 px pair")
    args = cli.add_flags(parser).parse_args(argv)
    rows = accuracy_rows(args.eval)
    cost = costs(args.synth, list(rows), videos=args.videos, pairs=args.pairs, tvl1_pairs=args.tvl1_pairs)
    with open(os.path.join(args.eval, "table.json"), "w") as f:
        json.dump({"accuracy": rows, "cost": cost}, f, indent=2, sort_keys=True)
    print(markdown(rows, cost))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
