"""What distillation saves: the whole per-video cost from the file, two-stream against RGB-only.

    python -m benchmarks.d3d_cost --root out/small/synth/ucf101 --split 1 --videos 20 \
        --model "two-stream=out/demo/models/two_stream@25x10" \
        --model "conv fusion=out/demo/models/conv_fusion@25x10" \
        --model "D3D student=out/d3d/models/d3d@10x1" --out out/bench/d3d_cost.json

Each --model is LABEL=EXPORT_DIR@CLIPSxCROPS (an export's <base>/<name> or version folder, and its test
protocol); the first is the reference the ratios are taken to. Per held-out video of the split (--videos
spread evenly over the sorted test list, the same for every model), timed on this machine: decode and resize
(PyAV, as ingest), optical flow (only if the export reads flow; the export's own algorithm), the rest of
the test batch (storage round trip, stacking, crops), and the network (the export's serving_default
signature in TensorFlow's C++ SavedModel loader, the path TF Serving takes, in chunks of --batch rows).
This is tfx_models.video_inputs.video_test_inputs, what serving.client and beam_pipelines.predict run,
with its flow estimator timed. Reports ms per video (mean over the videos, after one untimed warm-up
video), the ratio to the reference, and the accuracy on those videos.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import numpy as np

from beam_pipelines.datasets import load_entries
from media.flow import FlowEstimator
from tfx_models.export.contract import DEFAULT_SIGNATURE, read_preprocessing, resolve_export
from tfx_models.export.runner import SavedModelRunner
from tfx_models.data.video_file import video_test_inputs

MODEL_SPEC = re.compile(r"^(?P<label>[^=]+)=(?P<path>.+)@(?P<clips>\d+)x(?P<crops>\d+)$")


class TimedFlow(FlowEstimator):
    """The export's flow estimator, adding up the time it spends."""

    def __init__(self, algorithm: str):
        super().__init__(algorithm)
        self.seconds = 0.0

    def __call__(self, prev_gray, next_gray):
        start = time.perf_counter()
        try:
            return super().__call__(prev_gray, next_gray)
        finally:
            self.seconds += time.perf_counter() - start


def parse_model(text: str) -> dict:
    match = MODEL_SPEC.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"--model {text!r}: expected LABEL=EXPORT_DIR@CLIPSxCROPS, "
                                         "e.g. 'two-stream=out/models/two_stream@25x10'")
    return {"label": match["label"], "path": match["path"], "clips": int(match["clips"]),
            "crops": int(match["crops"])}


def time_decode(path: str, prep) -> float:
    """Seconds to decode and resize the video as the export's preprocessing does (no flow, no stacking)."""
    from media.video import VideoReader

    start = time.perf_counter()
    with VideoReader(path, size=prep.size, stride=prep.stride, max_frames=prep.max_frames or None) as reader:
        for _ in reader:
            pass
    return time.perf_counter() - start


def cost_of(model: dict, videos: list, *, batch: int) -> dict:
    export = resolve_export(model["path"])
    prep = read_preprocessing(export)
    runner = SavedModelRunner(export)
    classes = list(prep.classes)
    rows, correct = [], 0
    for index, entry in enumerate([videos[0], *videos]):  # the first pass warms caches up and is not counted
        estimator = TimedFlow(prep.flow_algorithm)
        start = time.perf_counter()
        inputs = video_test_inputs(entry.path, prep, num_frames=model["clips"], crops=model["crops"],
                                   estimator=estimator)
        prepared = time.perf_counter()
        count = len(next(iter(inputs.values())))
        scores = np.concatenate([runner.run(DEFAULT_SIGNATURE, {k: v[i:i + batch] for k, v in inputs.items()})
                                 ["probabilities"] for i in range(0, count, batch)]).mean(axis=0)
        end = time.perf_counter()
        if index == 0:
            continue
        decode = time_decode(entry.path, prep)  # timed apart: video_test_inputs decodes inside
        rows.append({"total": end - start, "flow": estimator.seconds, "network": end - prepared,
                     "decode": decode, "inputs": count})
        correct += classes[int(np.argmax(scores))] == entry.label_name
    runner.close()
    mean = {key: float(np.mean([r[key] for r in rows])) * 1e3 for key in ("total", "flow", "network", "decode")}
    return {"label": model["label"], "export": export, "streams": list(prep.streams), "kind": prep.kind,
            "protocol": f"{model['clips']} x {model['crops']}", "inputs_per_video": rows[0]["inputs"],
            "ms_per_video": mean["total"], "flow_ms": mean["flow"], "network_ms": mean["network"],
            "decode_ms": mean["decode"], "rest_ms": mean["total"] - mean["flow"] - mean["network"],
            "accuracy": correct / len(rows), "videos": len(rows)}


def markdown(results: list[dict]) -> str:
    reference = results[0]["ms_per_video"]
    lines = ["| model | streams read | protocol (clips x crops) | ms per video | ratio to first | flow ms | "
             "network ms | decode + batch ms | accuracy |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['label']} | {'+'.join(r['streams'])} | {r['protocol']} | {r['ms_per_video']:.0f} | "
                     f"{r['ms_per_video'] / reference:.2f} | {r['flow_ms']:.0f} | {r['network_ms']:.0f} | "
                     f"{r['rest_ms']:.0f} | {100 * r['accuracy']:.1f}% ({r['videos']} videos) |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.d3d_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", type=parse_model, required=True,
                        help="LABEL=EXPORT_DIR@CLIPSxCROPS (repeat; the first is the reference)")
    parser.add_argument("--root", required=True, help="UCF-101 layout root (UCF-101/ and ucfTrainTestlist/)")
    parser.add_argument("--format", default="ucf101", choices=("ucf101", "hmdb51"))
    parser.add_argument("--split", type=int, default=1)
    parser.add_argument("--videos", type=int, default=20, help="held-out videos, spread over the test list")
    parser.add_argument("--batch", type=int, default=50, help="rows per signature call")
    parser.add_argument("--out", help="JSON output")
    args = cli.add_flags(parser).parse_args(argv)
    held_out = [e for e in load_entries(args.format, args.split, root=args.root) if e.subset == "test"]
    videos = held_out[::max(1, len(held_out) // args.videos)][:args.videos]  # spread over the classes
    if not videos:
        raise ValueError(f"{args.root}: no test videos in split {args.split}")
    results = [cost_of(model, videos, batch=args.batch) for model in args.model]
    table = markdown(results)
    print(table)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                       "videos": [v.path for v in videos], "results": results, "table": table}, f, indent=2)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
