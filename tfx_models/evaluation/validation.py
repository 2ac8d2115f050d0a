"""How long to train: a cross-fitted run's checkpoints scored on its held-out fold.

    python -m tfx_models.validate --run RUN [--num_frames 5 --crops 1] [--patience 2] [--metric loss]

A run trained with data.folds=F, data.holdout_fold=k never samples the groups of fold k of its
training set; those videos are its validation set, and the test split stays untouched. Every
kept checkpoint (train.keep_checkpoints must hold them all) is scored on them with a cheap
protocol, giving accuracy and mean log-loss per step. Training "stops improving" at the best
checkpoint (by accuracy, or by log-loss) when the `patience` checkpoints after it gain no more
than `min_gain`;
that checkpoint's step is the budget a final run on the whole training set is given. Writes
<run>/validation.json.
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import tensorflow as tf

from media.shards import read_dataset_info
from tfx_models import cli, runs
from tfx_models.data import damage
from tfx_models.evaluation.protocol import eval_model, score_videos
from tfx_models.runs import checkpoints

VALIDATION_FILE = "validation.json"
METRICS = ("accuracy", "loss")


def stopping_step(curve: list[dict], patience: int = 2, min_gain: float = 0.0, metric: str = "accuracy") -> dict:
    """The best checkpoint of a curve ([{step, accuracy, loss, ...}] in step order) and whether
    the metric has stopped improving after it: `patience` later checkpoints, none of them better
    by more than `min_gain`. Accuracy improves upwards, log-loss downwards (the loss also
    punishes confident mistakes, so it stops earlier on a net that starts memorising). The
    earliest of equal bests wins (less training for the same result)."""
    if not curve:
        raise ValueError("an empty validation curve")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    steps = [point["step"] for point in curve]
    if steps != sorted(steps):
        raise ValueError(f"validation curve steps must rise: {steps}")
    sign = 1 if metric == "accuracy" else -1
    best = 0
    for i, point in enumerate(curve):
        if sign * (point[metric] - curve[best][metric]) > min_gain:
            best = i
    return {"step": curve[best]["step"], "metric": metric, metric: curve[best][metric],
            "stopped": len(curve) - 1 - best >= patience, "patience": patience, "min_gain": min_gain}


def checkpoint_curve(run_dir: str, *, records: str | None = None, num_frames: int = 5, crops: int = 1,
                     batch_size: int = 50) -> list[dict]:
    """[{step, accuracy, loss, videos}] over the run's kept checkpoints, on its held-out fold."""
    run_info = runs.read_run_info(run_dir)
    folds, fold = int(run_info.get("folds") or 0), int(run_info.get("holdout_fold") or 0)
    if folds < 2:
        raise ValueError(f"{run_dir}: not a cross-fitted run (data.folds={folds}); a validation curve "
                         "needs held-out training groups (train with --set data.folds=3)")
    record_dir = records or run_info["records"][0]
    info = read_dataset_info(record_dir)
    damage.check_record_dir(record_dir, info)
    prefixes = [p for p in reversed(checkpoints.checkpoints_newest_first(runs.checkpoint_dir(run_dir)))
                if checkpoints.verify(p) is None]
    curve = []
    for prefix in prefixes:
        model, settings = runs.load_model_from_run(run_dir, checkpoint=prefix)
        entry = eval_model("run", model, settings, info["dataset"], list(info["classes"]))
        _, labels, scores = score_videos([entry], record_dir, "train", num_frames=num_frames, crops=crops,
                                         batch_size=batch_size, fold=(folds, fold))
        probabilities = scores["run"]
        curve.append({"step": checkpoints.step_of(prefix), "videos": int(len(labels)),
                      "accuracy": float(np.mean(probabilities.argmax(axis=1) == labels)),
                      "loss": float(-np.mean(np.log(np.maximum(probabilities[np.arange(len(labels)), labels],
                                                                 1e-12))))})
    if not curve:
        raise FileNotFoundError(f"{runs.checkpoint_dir(run_dir)}: no complete checkpoint")
    return curve


def main(argv=None) -> None:
    parser = cli.add_flags(argparse.ArgumentParser(prog="python -m tfx_models.validate",
                                                   description=__doc__.split("\n\n")[0]))
    parser.add_argument("--run", required=True, help="a run trained with data.folds >= 2")
    parser.add_argument("--records", help="record dir (default: the run's own)")
    parser.add_argument("--num_frames", type=int, default=5, help="clips per held-out video")
    parser.add_argument("--crops", type=int, default=1, choices=(1, 2, 5, 10))
    parser.add_argument("--patience", type=int, default=2, help="later checkpoints without a gain")
    parser.add_argument("--min_gain", type=float, default=0.0, help="improvement a later checkpoint must add")
    parser.add_argument("--metric", default="accuracy", choices=METRICS, help="what must stop improving")
    args = parser.parse_args(argv)
    curve = checkpoint_curve(args.run, records=args.records, num_frames=args.num_frames, crops=args.crops)
    decision = stopping_step(curve, args.patience, args.min_gain, args.metric)
    for point in curve:
        print(f"step {point['step']:>6}  accuracy {point['accuracy']:.3f}  loss {point['loss']:.3f}  "
              f"({point['videos']} held-out videos)")
    print(f"best step {decision['step']} ({args.metric} {decision[args.metric]:.3f}); "
          + ("stopped improving" if decision["stopped"] else f"still improving: fewer than {args.patience} "
             "checkpoints after the best"))
    with tf.io.gfile.GFile(os.path.join(args.run, VALIDATION_FILE), "w") as f:
        json.dump({"curve": curve, "decision": decision, "num_frames": args.num_frames, "crops": args.crops}, f,
                  indent=1)
