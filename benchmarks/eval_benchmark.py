"""Evaluation throughput against the same model's forward-only rate on the same cores.

    python -m benchmarks.eval_benchmark --run RUN [--records DIR] --num_frames 25 --crops 10 --videos 30 --rounds 5

Forward only: the model on test inputs already in memory (the first test video's, over and over),
in the evaluator's batches: the most the evaluation could reach. Evaluation: `score_videos` over
the first N test videos, as `tfx_models.evaluate` scores them (records read, JPEGs decoded,
volumes stacked and cropped, the model run). Both are reported as test videos/s, and their ratio.
A shared host's speed drifts by 10-20% within minutes, so each round times the evaluation between
two forward-only passes and divides by their mean; the rounds' median share is the result.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

from media.shards import read_dataset_info
from tfx_models import runs
from tfx_models.evaluation.protocol import BATCH_SIZE, eval_model, score_videos


def first_video_features(entry, record_dir: str, *, num_frames: int, crops: int) -> dict:
    config = entry.inputs
    video = next(config.sampler(record_dir, "test", config.streams, num_frames=num_frames, crops=crops,
                                crop_size=config.crop_size, length=config.length, stacking=config.stacking,
                                bidirectional=config.bidirectional, mean_subtraction=config.mean_subtraction,
                                joint=config.joint, snippets=config.snippets, snippet_stride=config.snippet_stride))
    return video.features


def forward_videos_per_second(entry, features: dict, *, batch_size: int, repeats: int) -> float:
    """Videos/s of the model alone on in-memory inputs (after one warm-up pass)."""
    entry.scores(features, batch_size)
    start = time.perf_counter()
    for _ in range(repeats):
        entry.scores(features, batch_size)
    return repeats / (time.perf_counter() - start)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a training run of any kind")
    parser.add_argument("--records", help="record dir (default: the run's own)")
    parser.add_argument("--num_frames", type=int, default=25)
    parser.add_argument("--crops", type=int, default=10)
    parser.add_argument("--videos", type=int, default=30, help="test videos the evaluation row scores")
    parser.add_argument("--repeats", type=int, default=10, help="passes over one video's inputs, forward only")
    parser.add_argument("--rounds", type=int, default=5, help="evaluations, each between two forward-only timings")
    parser.add_argument("--batch_size", type=int, default=BATCH_SIZE, help="inputs per model call")
    parser.add_argument("--out", help="also write the result as JSON here")
    args = cli.add_flags(parser).parse_args(argv)
    if min(args.videos, args.repeats, args.rounds, args.num_frames, args.crops, args.batch_size) < 1:
        raise ValueError("--videos, --repeats, --rounds, --num_frames, --crops and --batch_size must be >= 1")
    model, run_info = runs.load_model_from_run(args.run)
    record_dir = args.records or (run_info.get("records") or [None])[0]
    if not record_dir:
        raise ValueError(f"{args.run}/run_info.json: no 'records'; pass --records DIR")
    info = read_dataset_info(record_dir)
    entry = eval_model(os.path.basename(os.path.normpath(args.run)), model, run_info, info["dataset"],
                       info["classes"])
    features = first_video_features(entry, record_dir, num_frames=args.num_frames, crops=args.crops)
    forward = [forward_videos_per_second(entry, features, batch_size=args.batch_size, repeats=args.repeats)]
    evaluation, shares = [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        ids, _, _ = score_videos([entry], record_dir, "test", num_frames=args.num_frames, crops=args.crops,
                                 batch_size=args.batch_size, limit=args.videos)
        evaluation.append(len(ids) / (time.perf_counter() - start))
        forward.append(forward_videos_per_second(entry, features, batch_size=args.batch_size, repeats=args.repeats))
        shares.append(evaluation[-1] / statistics.mean(forward[-2:]))
    result = {"run": args.run, "records": record_dir, "inputs_per_video": args.num_frames * args.crops,
              "batch_size": args.batch_size, "cpu_count": os.cpu_count(), "rounds": args.rounds,
              "forward_only_videos_per_second": [round(v, 3) for v in forward], "evaluation_videos": len(ids),
              "evaluation_videos_per_second": [round(v, 3) for v in evaluation],
              "share_of_forward_only": [round(v, 3) for v in shares],
              "median_share_of_forward_only": round(statistics.median(shares), 3)}
    print(json.dumps(result))
    if args.out:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
