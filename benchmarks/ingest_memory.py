"""Peak memory of ingesting one short and one long high-resolution video.

    python -m benchmarks.ingest_memory --out out/bench/ingest_memory.json
    python -m benchmarks.ingest_memory --out out/bench/ingest_memory_old.json --seconds 10 --code_dir OLD_CHECKOUT

Renders its own inputs (a blurred texture sliding right at 25 fps, MPEG-4 in .avi, 1280x720
by default), then for each video measures, each in fresh processes:
  function   peak RSS of one process running the job's per-video function `ingest_video`
             (after a warm-up on a 4-frame clip, so imports and codec set-up are counted
             in the baseline, not in the growth);
  job        the whole Beam ingest (`python -m beam_pipelines.ingest`, one worker process):
             the largest peak RSS of any of its processes (runner or worker).
`--code_dir` runs the function probe against another checkout (e.g. the code before
streaming) for comparison; its job is not run.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FPS = 25.0
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}

# Run in a fresh interpreter: python -c PROBE WARMUP VIDEO SIZE. Prints one JSON line.
PROBE = r"""
import json, resource, sys, time
import cv2
from beam_pipelines.datasets.entry import VideoEntry
from beam_pipelines.ingest_transforms import IngestConfig, ingest_video
from media.flow import FlowEstimator

cv2.setNumThreads(1)  # as in a Beam worker
config, estimator = IngestConfig(flow="dis_fast", size=int(sys.argv[3])), FlowEstimator("dis_fast")

def run(path):
    entry = VideoEntry(path=path, label=0, label_name="C", subset="train", group="g", view=0, dataset="bench")
    result = ingest_video(entry, config, estimator)
    # (record, frames) before ingest_video returned an IngestedVideo
    return (result.record, result.frames) if hasattr(result, "record") else result

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

run(sys.argv[1])
before = peak_mb()
start = time.perf_counter()
record, frames = run(sys.argv[2])
print(json.dumps({"frames": frames, "record_mb": len(record) / 2**20, "seconds": time.perf_counter() - start,
                  "baseline_peak_mb": before, "peak_mb": peak_mb(), "growth_mb": peak_mb() - before}))
"""

# python -c JOB_WRAPPER COMMAND...: runs the job, prints its processes' largest peak RSS (MB).
JOB_WRAPPER = r"""
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def moving_pattern(height: int, width: int, frames: int):
    """A blurred random texture sliding 8 px right per frame: cheap to render, real motion."""
    noise = np.random.default_rng(0).integers(0, 256, (height, width // 4, 3), dtype=np.uint8)
    tile = np.tile(cv2.GaussianBlur(noise, (0, 0), 3), (1, 4, 1))
    for t in range(frames):
        yield np.roll(tile, 8 * t, axis=1)


def render(path: str, height: int, width: int, frames: int) -> float:
    """Seconds to render, or 0.0 when `path` already holds this video (kept with --work)."""
    from media.video import VideoReader, VideoDecodeError, write_video

    try:
        with VideoReader(path) as reader:
            if (reader.declared_frames, reader.source_height, reader.source_width) == (frames, height, width):
                return 0.0
    except VideoDecodeError:
        pass
    start = time.perf_counter()
    write_video(path, moving_pattern(height, width, frames), fps=FPS, codec="mpeg4")
    return time.perf_counter() - start


def measure_function(warmup: str, video: str, size: int, code_dir: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, warmup, video, str(size)], cwd=code_dir,
                            env={**os.environ, **QUIET, "PYTHONPATH": code_dir}, capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_job(video: str, size: int, work: str) -> dict:
    manifest = os.path.join(work, f"{os.path.basename(video)}.csv")
    with open(manifest, "w") as f:
        f.write(f"path,label,split\n{video},Pattern,train\n")
    output = os.path.join(work, f"records-{os.path.basename(video)}")
    command = [sys.executable, "-m", "beam_pipelines.ingest", "--format", "csv", "--manifest", manifest,
               "--output", output, "--flow", "dis", "--size", str(size), "--num_shards", "1",
               "--max_seconds", "0", "--direct_num_workers=1"]
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", JOB_WRAPPER, *command], cwd=REPO,
                            env={**os.environ, **QUIET, "PYTHONPATH": REPO}, capture_output=True, text=True,
                            check=True)
    with open(os.path.join(output, "summary.json")) as f:
        summary = json.load(f)
    if summary["written"] != 1:
        raise RuntimeError(f"{video}: the job wrote no record; see {summary['dead_letter_file']}")
    return {"max_process_peak_mb": float(result.stdout.strip().splitlines()[-1]),
            "seconds": time.perf_counter() - start, "written": summary["written"], "frames": summary["frames"]}


def markdown(results: list[dict], args) -> str:
    lines = [f"| video ({args.width}x{args.height}, {FPS:g} fps, MPEG-4) | frames | record | "
             "`ingest_video`: peak RSS (growth) | Beam job, 1 worker: largest process peak |",
             "|---|---|---|---|---|"]
    for r in results:
        f, job = r["function"], r.get("job")
        lines.append(f"| {r['seconds']:g} s | {f['frames']} | {f['record_mb']:.1f} MB | "
                     f"{f['peak_mb']:.0f} MB (+{f['growth_mb']:.0f} MB) | "
                     + (f"{job['max_process_peak_mb']:.0f} MB |" if job else "- |"))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest_memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="JSON results (a markdown table is printed too)")
    parser.add_argument("--seconds", default="10,300", help="video lengths in seconds, comma-separated")
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--size", type=int, default=256, help="the ingest's --size (short side)")
    parser.add_argument("--code_dir", default=REPO, help="checkout whose ingest_video the function probe runs")
    parser.add_argument("--work", help="folder for the rendered videos, kept and reused on the next run "
                                       "(default: a temporary one)")
    args = cli.add_flags(parser).parse_args(argv)
    lengths = [float(s) for s in args.seconds.split(",")]
    with tempfile.TemporaryDirectory() as temp:
        work = os.path.abspath(args.work or temp)  # the job's CSV manifest names videos by absolute path
        os.makedirs(work, exist_ok=True)
        warmup = os.path.join(work, "warmup.avi")
        render(warmup, args.height, args.width, 4)
        results = []
        for seconds in lengths:
            video = os.path.join(work, f"pattern_{args.height}p_{seconds:g}s.avi")
            render_s = render(video, args.height, args.width, round(seconds * FPS))
            row = {"seconds": seconds, "video_mb": os.path.getsize(video) / 2**20, "render_s": render_s,
                   "function": measure_function(warmup, video, args.size, args.code_dir)}
            if os.path.realpath(args.code_dir) == REPO:
                row["job"] = measure_job(video, args.size, work)
            results.append(row)
            print(json.dumps(row), flush=True)
    table = markdown(results, args)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"height": args.height, "width": args.width, "fps": FPS, "size": args.size,
                   "code_dir": args.code_dir, "load_average": os.getloadavg(), "results": results,
                   "markdown": table}, f, indent=2)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
