"""Throughput of the input pipeline on real record dirs: training examples/s and test videos/s.

    python -m benchmarks.input_benchmark --records out/demo/ucf101-s1 --batch_size 64 --batches 20

Training rows time `train_dataset` batches after a warm-up (spatial, then each
temporal input configuration the records support); the test row times
`record_test_inputs` (num_frames x crops inputs per video, both streams).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import time

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

from media.shards import read_dataset_info
from tfx_models.data.pipeline import train_dataset
from tfx_models.data.test_clips import record_test_inputs

WARMUP_BATCHES = 2


def temporal_configs(bidirectional_records: bool) -> list[dict]:
    configs = [{"stacking": "optical_flow", "bidirectional": False},
               {"stacking": "trajectory", "bidirectional": False}]
    if bidirectional_records:
        configs.append({"stacking": "optical_flow", "bidirectional": True})
    return configs


def time_training(sources, stream, *, batch_size: int, batches: int, **options) -> dict:
    dataset = train_dataset(sources, stream, batch_size=batch_size, seed=0, **options)
    iterator = iter(dataset)
    for _ in range(WARMUP_BATCHES):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    seconds = time.perf_counter() - start
    return {"stream": stream, **options, "batch_size": batch_size, "batches": batches,
            "seconds": round(seconds, 3), "examples_per_second": round(batches * batch_size / seconds, 1)}


def time_test_inputs(record_dir: str, *, videos: int, num_frames: int, crops: int, crop_size: int,
                     length: int) -> dict:
    iterator = record_test_inputs(record_dir, "test", ("spatial", "temporal"), num_frames=num_frames,
                                 crops=crops, crop_size=crop_size, length=length)
    next(iterator)  # warm-up: imports, first shard open
    start = time.perf_counter()
    done = sum(1 for _ in itertools.islice(iterator, videos))
    seconds = time.perf_counter() - start
    return {"stream": "test inputs (spatial+temporal)", "videos": done, "inputs_per_video": num_frames * crops,
            "seconds": round(seconds, 3), "videos_per_second": round(done / seconds, 2)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.input_benchmark",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", action="append", required=True,
                        help="record dir (repeat for a multi-task merge; task index = position)")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=20, help="timed batches per row")
    parser.add_argument("--crop_size", type=int, default=112)
    parser.add_argument("--length", type=int, default=10, help="L flow fields per volume")
    parser.add_argument("--test_videos", type=int, default=5, help="videos for the test-input row")
    parser.add_argument("--num_frames", type=int, default=25)
    parser.add_argument("--crops", type=int, default=10)
    parser.add_argument("--out", help="also write the rows as JSON here")
    args = cli.add_flags(parser).parse_args(argv)

    sources = [(path, task) for task, path in enumerate(args.records)]
    bidirectional = all(read_dataset_info(p)["flow"].get("bidirectional", False) for p in args.records)
    common = {"batch_size": args.batch_size, "batches": args.batches, "crop_size": args.crop_size}
    rows = [time_training(sources, "spatial", **common)]
    for config in temporal_configs(bidirectional):
        rows.append(time_training(sources, "temporal", length=args.length, **config, **common))
    if args.test_videos > 0:
        rows.append(time_test_inputs(args.records[0], videos=args.test_videos, num_frames=args.num_frames,
                                     crops=args.crops, crop_size=args.crop_size, length=args.length))
    print(f"cpus: {os.cpu_count()}  records: {', '.join(args.records)}")
    print("| input | rate |\n|---|---|")
    for row in rows:
        if "examples_per_second" in row:
            name = row["stream"] if row["stream"] == "spatial" else (
                f"temporal {row['stacking']}{' bi-dir' if row['bidirectional'] else ''} L={row['length']}")
            print(f"| train {name}, batch {row['batch_size']} | {row['examples_per_second']} examples/s |")
        else:
            print(f"| {row['stream']}, {row['inputs_per_video']} inputs/video | "
                  f"{row['videos_per_second']} videos/s |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
