"""End-point error of the ingested flow against the synthetic benchmark's true flow.

    python -m results.flow_quality --records out/records/ucf101-s1 --truth out/synth/groundtruth/ucf101

The renderer knows every pixel's displacement, so the flow a record holds (after
estimation, quantisation and JPEG) can be scored where it matters: on the moving
object, whose motion relative to the camera pan is what tells the *Ball classes
apart. Prints, per class, the mean end-point error over all valid pixels and over
the object's pixels, and how much of the object's relative motion the flow keeps
(the mean length of the estimated relative flow over the true one's).
"""
from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import numpy as np

from media.shards import iter_records
from tfx_models.data.test_clips import lazy_video

MOVING = 0.5  # px per frame of motion relative to the camera that marks the object


def score_video(flow, truth: np.ndarray, valid: np.ndarray) -> dict[str, float]:
    """flow: the record's fields (a sequence of [H,W,2]); truth [F,H,W,2] and valid [F,H,W]."""
    count = min(len(flow), len(truth))
    sums = defaultdict(float)
    for i in range(count):
        estimated, true, ok = flow[i].astype(np.float64), truth[i].astype(np.float64), valid[i].astype(bool)
        if estimated.shape != true.shape:
            raise ValueError(f"field {i}: record flow {estimated.shape} but truth {true.shape}: ingest at the "
                             "rendered size (--size equal to the short side)")
        pan = np.median(true[ok], axis=0) if ok.any() else np.zeros(2)
        relative = np.linalg.norm(true - pan, axis=-1)
        moving = ok & (relative > MOVING)
        error = np.linalg.norm(estimated - true, axis=-1)
        sums["epe_sum"] += error[ok].sum()
        sums["valid"] += ok.sum()
        sums["object_epe_sum"] += error[moving].sum()
        sums["object"] += moving.sum()
        estimated_pan = np.median(estimated[ok], axis=0) if ok.any() else np.zeros(2)
        sums["kept_sum"] += np.linalg.norm(estimated - estimated_pan, axis=-1)[moving].sum()
        sums["true_sum"] += relative[moving].sum()
    return dict(sums)


def flow_quality(record_dir: str, truth_dir: str, subset: str = "test") -> dict[str, dict[str, float]]:
    per_class: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    for serialized in iter_records(record_dir, subset):
        context, _, flow, _ = lazy_video(serialized, record_dir)
        stem = os.path.splitext(os.path.basename(context["id"]))[0]
        path = os.path.join(truth_dir, stem + ".npz")
        if flow is None:
            raise ValueError(f"{record_dir}: record {context['id']} holds no flow")
        with np.load(path) as truth:
            sums = score_video(flow, truth["flow"], truth["valid"])
        name = stem.split("_")[1] if stem.startswith("v_") else stem.rsplit("_g", 1)[0]
        for key, value in sums.items():
            per_class[name][key] += value
        per_class[name]["videos"] += 1
    return {name: {"videos": int(s["videos"]), "epe": s["epe_sum"] / max(s["valid"], 1),
                   "object_epe": s["object_epe_sum"] / max(s["object"], 1),
                   "object_pixels": s["object"] / max(s["valid"], 1),
                   "motion_kept": s["kept_sum"] / max(s["true_sum"], 1e-9)}
            for name, s in sorted(per_class.items())}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.flow_quality", description=__doc__.split("\n\n")[1])
    parser.add_argument("--records", required=True, help="ingested record dir")
    parser.add_argument("--truth", required=True, help="<synth out>/groundtruth/<dataset>")
    parser.add_argument("--subset", default="test", choices=("train", "test"))
    parser.add_argument("--json", help="also write the figures here")
    args = cli.add_flags(parser).parse_args(argv)
    result = flow_quality(args.records, args.truth, args.subset)
    print("| class | videos | EPE, all pixels | EPE, object | object motion kept |")
    print("|---|---|---|---|---|")
    for name, r in result.items():
        print(f"| {name} | {r['videos']} | {r['epe']:.2f} px | {r['object_epe']:.2f} px | {r['motion_kept']:.0%} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
