"""Ingest throughput and flow quality on the synthetic benchmark (with ground-truth flow).

    python -m beam_pipelines.synth --out out/synth --seed 0 --profile small
    python -m benchmarks.ingest_benchmark --data out/synth --out out/bench/ingest.json

Measures, single process unless said otherwise:
  decode      frames/s of read_video + resize alone;
  decode_flow frames/s of decode + resize + the job's flow, streaming as the job does: the
              work the job cannot avoid, so the ceiling its throughput is held to;
  flow        pairs/s of each algorithm at --size (TV-L1 on --tvl1_pairs pairs only);
  epe         end-point error of each algorithm against the renderer's exact flow
              (valid pixels only), at the clips' native size;
  storage     bytes of JPEG-quantised flow vs float32 and the mean reconstruction error;
  output      ms per frame of quantising, JPEG-encoding and writing the record alone: what the
              job adds to decode_flow however it is organised;
  job         frames/s of the whole Beam job with 1 and 2 worker processes (raw, and
              steady-state with the start-up cost differenced out), and the
              scaling efficiency fps2 / (2 * fps1);
  processes   the control for that: the job's per-video work in 1 and 2 plain
              processes without Beam, i.e. the scaling the machine itself allows.
Load averages are recorded: on a shared machine the numbers move with them.
Targets (reported, not asserted): the job with 1 worker >= 85% of decode_flow; its
1 -> 2 worker scaling within 10 points of the control's.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import sys
import tempfile
import time

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import cv2
import numpy as np

from beam_pipelines.datasets import VideoEntry, load_class_names, load_entries
from beam_pipelines.ingest import run_ingest
from beam_pipelines.ingest_transforms import IngestConfig, ingest_video
from beam_pipelines.options import pipeline_options, quiet_beam_logs
from media.flow import ALGORITHMS, FlowEstimator, end_point_error, to_gray
from media.quantize import DEFAULT_BOUND, DEFAULT_JPEG_QUALITY, encode_jpeg, quantize_flow, stored_flow
from media.records import RecordBuilder
from media.video import VideoReader, read_video, resize_short_side

DATASET = "ucf101"


def measure_decode(paths: list[str], size: int, repeats: int = 3) -> dict:
    """The fastest of `repeats` passes, after one untimed pass (codec set-up, file cache)."""
    def one_pass():
        start, frames = time.perf_counter(), 0
        for path in paths:
            frames += len(resize_short_side(read_video(path).frames, size))
        return frames, time.perf_counter() - start

    one_pass()
    frames, elapsed = min((one_pass() for _ in range(repeats)), key=lambda run: run[1])
    return {"videos": len(paths), "frames": frames, "seconds": elapsed, "frames_per_s": frames / elapsed}


def measure_decode_flow(paths: list[str], size: int, algorithm: str, repeats: int = 3) -> dict:
    """Decode + resize + flow alone over the job's videos, streaming as the job does
    (VideoReader, to_gray, a fresh DIS per pair): the work the job cannot avoid."""
    estimator = FlowEstimator(algorithm)

    def one_pass():
        start, frames = time.perf_counter(), 0
        for path in paths:
            previous = None
            with VideoReader(path, size=size) as reader:
                for frame in reader:
                    gray = to_gray(frame)
                    if previous is not None:
                        estimator(previous, gray)
                    previous, frames = gray, frames + 1
        return frames, time.perf_counter() - start

    one_pass()
    frames, elapsed = min((one_pass() for _ in range(repeats)), key=lambda run: run[1])
    return {"videos": len(paths), "flow": algorithm, "frames": frames, "seconds": elapsed,
            "frames_per_s": frames / elapsed}


def measure_record_output(clips: list[np.ndarray], algorithm: str, repeats: int = 3) -> dict:
    """What the job must add to decode + flow: quantising the fields, JPEG-encoding each frame
    (RGB) and field (x and y planes) and writing the record's bytes, timed alone on decoded
    frames and computed flow. A floor under the job's per-frame cost beyond its ceiling."""
    estimator = FlowEstimator(algorithm)
    videos = [(clip, [estimator(clip[t], clip[t + 1]) for t in range(len(clip) - 1)]) for clip in clips]

    def one_pass():
        start = time.perf_counter()
        for clip, flows in videos:
            builder = RecordBuilder(DEFAULT_BOUND, DEFAULT_JPEG_QUALITY)
            for t, frame in enumerate(clip):
                builder.add_frame(frame)
                if t:
                    builder.add_flow(flows[t - 1])
            builder.serialize(id="v", path="v", dataset=DATASET, label=0, label_name="c", group="g", view=0,
                              fps=25.0, flow_algorithm=algorithm)
        return time.perf_counter() - start

    frames = sum(len(clip) for clip in clips)
    elapsed = min(one_pass() for _ in range(repeats))
    return {"frames": frames, "ms_per_frame": 1000 * elapsed / frames}


def measure_flow(clips: list[np.ndarray], algorithm: str, max_pairs: int) -> dict:
    estimator = FlowEstimator(algorithm)
    pairs = [(clip[t], clip[t + 1]) for clip in clips for t in range(len(clip) - 1)][:max_pairs]
    start = time.perf_counter()
    for prev, nxt in pairs:
        estimator(prev, nxt)
    elapsed = time.perf_counter() - start
    return {"pairs": len(pairs), "ms_per_pair": 1000 * elapsed / len(pairs), "pairs_per_s": len(pairs) / elapsed}


def measure_epe(videos: list[tuple[np.ndarray, np.ndarray, np.ndarray]], algorithm: str, max_pairs: int) -> dict:
    """videos: (frames [T,H,W,3], truth [T-1,H,W,2], valid [T-1,H,W]) at native size."""
    estimator, errors = FlowEstimator(algorithm), []
    for frames, truth, valid in videos:
        for t in range(len(truth)):
            if len(errors) >= max_pairs:
                break
            if valid[t].any():
                errors.append(end_point_error(estimator(frames[t], frames[t + 1]), truth[t], valid[t]))
    return {"pairs": len(errors), "epe": float(np.mean(errors))}


def measure_storage(flows: np.ndarray, bound: float, quality: int) -> dict:
    jpeg = sum(len(encode_jpeg(np.ascontiguousarray(plane), quality))
               for q in quantize_flow(flows, bound) for plane in (q[..., 0], q[..., 1]))
    float_bytes = flows.astype(np.float32).nbytes
    error = np.abs(stored_flow(flows, bound, quality) - flows)
    inside = np.abs(flows) <= bound
    return {"pairs": len(flows), "jpeg_bytes": jpeg, "float32_bytes": float_bytes,
            "ratio": float_bytes / jpeg, "mean_abs_error_px": float(error[inside].mean()),
            "clipped_fraction": float(1 - inside.mean())}


def job_entries(root: str, limit: int, passes: int, links: str) -> list[VideoEntry]:
    """The split's first `limit` clips, `passes` times over: pass k > 0 reads each clip through a
    symbolic link under `links`, so every pass is a distinct record and the steady-state work
    outweighs the job's fixed start-up."""
    entries = load_entries(DATASET, split=1, root=root)[:limit]
    repeated = list(entries)
    for k in range(1, passes):
        for entry in entries:
            link = os.path.join(links, f"pass{k}_{os.path.basename(entry.path)}")
            os.symlink(entry.path, link)
            repeated.append(dataclasses.replace(entry, path=link))
    return repeated


def local_flags(workers: int) -> list[str]:
    return [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]


def run_job(entries: list[VideoEntry], root: str, beam_flags: list[str], size: int, flow: str) -> dict:
    with tempfile.TemporaryDirectory() as output:
        options = pipeline_options(beam_flags)
        summary = run_ingest(entries, output, IngestConfig(flow=flow, size=size, num_shards=2), options,
                             dataset=DATASET, data_format=DATASET, split=1,
                             classes=load_class_names(DATASET, root=root))
    return {key: summary[key] for key in ("inputs", "written", "dead_lettered", "frames", "elapsed_s", "frames_per_s")}


def measure_job(entries: list[VideoEntry], root: str, beam_flags: list[str], size: int, flow: str,
                repeats: int) -> dict:
    """Whole-job frames/s, raw and with the fixed start-up cost (worker processes
    importing TensorFlow, pipeline setup) taken out by differencing with a 2-video run.

    Each run is repeated and the fastest kept: on a shared machine other load
    only ever slows a run down.
    """
    def fastest(videos):
        return min((run_job(videos, root, beam_flags, size, flow) for _ in range(repeats)),
                   key=lambda run: run["elapsed_s"])

    small, full = fastest(entries[:2]), fastest(entries)
    steady = (full["frames"] - small["frames"]) / max(full["elapsed_s"] - small["elapsed_s"], 1e-9)
    return {**full, "startup_s": small["elapsed_s"], "steady_frames_per_s": steady, "repeats": repeats}


def _ingest_all(args) -> tuple[int, float]:
    entries, flow, size = args
    cv2.setNumThreads(1)
    config, estimator = IngestConfig(flow=flow, size=size), FlowEstimator(flow)
    start, frames = time.perf_counter(), 0
    for entry in entries:
        frames += ingest_video(entry, config, estimator).frames
    return frames, time.perf_counter() - start


def measure_process_scaling(entries: list[VideoEntry], size: int, flow: str) -> dict:
    """The job's per-video work (ingest_video) in 1 and in 2 plain processes, no Beam:
    what the machine itself allows when every process does the same work at once."""
    rates = {}
    for processes in (1, 2):
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            pool.map(_ingest_all, [(entries[:2], flow, size)] * processes)  # imports, first calls
            start = time.perf_counter()
            frames = sum(f for f, _ in pool.map(_ingest_all, [(entries, flow, size)] * processes))
            rates[str(processes)] = frames / (time.perf_counter() - start)
    return {"frames_per_s": rates, "scaling_efficiency": rates["2"] / (2 * rates["1"])}


def load_truth(data: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    stem = os.path.splitext(os.path.basename(path))[0]
    with np.load(f"{data}/groundtruth/{DATASET}/{stem}.npz") as npz:
        return npz["flow"].astype(np.float32), npz["valid"].astype(bool)


def markdown(results: dict) -> str:
    decode = results["decode"]["frames_per_s"]
    size = f"short side {results['size']}" if results["size"] else "native size"
    lines = ["| measurement | value |", "|---|---|",
             f"| decode + resize (1 process, {size}) | {decode:.0f} frames/s |"]
    for name, flow in results["flow"].items():
        lines.append(f"| flow {name} ({size}) | {flow['ms_per_pair']:.1f} ms/pair "
                     f"({flow['pairs']} pairs) |")
    for name, epe in results["epe"].items():
        lines.append(f"| EPE {name} (native size, valid px) | {epe['epe']:.3f} px ({epe['pairs']} pairs) |")
    storage = results["storage"]
    lines.append(f"| flow storage JPEG q{results['jpeg_quality']} vs float32 | {storage['jpeg_bytes']} B vs "
                 f"{storage['float32_bytes']} B (x{storage['ratio']:.1f}), mean error "
                 f"{storage['mean_abs_error_px']:.3f} px |")
    job = results["job"]
    for workers in sorted(job, key=int):
        run = job[workers]
        lines.append(f"| job {results['job_flow']}, {workers} worker(s), {results['job_clips']} clips | "
                     f"{run['steady_frames_per_s']:.0f} frames/s "
                     f"steady; {run['frames_per_s']:.0f} frames/s raw ({run['frames']} frames in "
                     f"{run['elapsed_s']:.1f} s, {run['startup_s']:.1f} s start-up) |")
    ceiling, output = results["decode_flow"], results["output"]
    lines.append(f"| decode + resize + {ceiling['flow']} (1 process) | {ceiling['frames_per_s']:.0f} frames/s |")
    bound = 1 / (1 / ceiling["frames_per_s"] + output["ms_per_frame"] / 1000)
    lines.append(f"| quantise + JPEG + record bytes alone | {output['ms_per_frame']:.3f} ms/frame: with "
                 f"decode + flow, at most {bound:.0f} frames/s ({bound / ceiling['frames_per_s']:.0%}) |")
    if "1" in job:
        lines.append(f"| job 1 worker / decode + flow (target >= 85%) | {results['job_vs_decode_flow']:.0%} |")
    if "1" in job and "2" in job:
        lines.append(f"| scaling 1 -> 2 workers (target: within 10 points of the control) | "
                     f"{results['scaling_efficiency']:.0%} steady, {results['scaling_efficiency_raw']:.0%} raw |")
    if "processes" in results:
        control = results["processes"]
        lines.append(f"| control, no Beam: ingest_video in 1 and 2 processes | {control['frames_per_s']['1']:.0f} "
                     f"and {control['frames_per_s']['2']:.0f} frames/s, scaling "
                     f"{control['scaling_efficiency']:.0%} |")
    return "\n".join(lines)


def write_results(results: dict, out: str, table) -> dict:
    """Stamp the load average, write `results` as JSON to `out`, print `table(results)`."""
    results["load_average_at_end"] = os.getloadavg()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print(table(results))
    return results


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--data, --out and --size, as every ingest throughput benchmark takes them."""
    parser.add_argument("--data", required=True, help="output folder of python -m beam_pipelines.synth")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--size", type=int, default=0,
                        help="smaller side for throughput runs; 0 keeps the clips' size (synth small: 112)")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--videos", type=int, default=8, help="videos for the decode/flow/EPE measurements")
    parser.add_argument("--pairs", type=int, default=60, help="pairs per algorithm for flow timing and EPE")
    parser.add_argument("--tvl1_pairs", type=int, default=3, help="TV-L1 is ~0.9 s per 256x340 pair")
    parser.add_argument("--job_flow", default="dis_fast")
    parser.add_argument("--job_videos", type=int, default=180, help="clips for the whole-job runs")
    parser.add_argument("--job_passes", type=int, default=1,
                        help="times the whole-job runs and their control go over those clips")
    parser.add_argument("--workers", default="1,2", help="worker counts for the job runs")
    parser.add_argument("--repeats", type=int, default=2, help="runs per job measurement; the fastest counts")
    args = cli.add_flags(parser).parse_args(argv)
    if args.job_passes < 1:
        parser.error(f"--job_passes must be >= 1, got {args.job_passes}")
    cv2.setNumThreads(1)  # per-core numbers, as each Beam worker runs them
    quiet_beam_logs()
    root = f"{args.data.rstrip('/')}/{DATASET}"
    entries = load_entries(DATASET, split=1, root=root)[:args.videos]
    if not entries:
        parser.error(f"{root}: no videos; render them with python -m beam_pipelines.synth --out {args.data}")
    paths = [e.path for e in entries]
    results = {"data": args.data, "size": args.size, "videos": len(paths), "jpeg_quality": DEFAULT_JPEG_QUALITY,
               "cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg(),
               "decode": measure_decode(paths, args.size),
               "decode_flow": measure_decode_flow([e.path for e in load_entries(DATASET, split=1, root=root)
                                                   [:args.job_videos]], args.size, args.job_flow, repeats=2)}
    clips = [resize_short_side(read_video(p).frames, args.size) for p in paths]
    results["flow"] = {name: measure_flow(clips, name, args.tvl1_pairs if name == "tvl1" else args.pairs)
                       for name in ALGORITHMS}
    native = [(read_video(p).frames, *load_truth(args.data, p)) for p in paths]
    results["epe"] = {name: measure_epe(native, name, args.tvl1_pairs if name == "tvl1" else args.pairs)
                      for name in ALGORITHMS}
    sample = np.stack([FlowEstimator(args.job_flow)(c[t], c[t + 1]) for c in clips[:2] for t in range(len(c) - 1)])
    results["output"] = measure_record_output(clips, args.job_flow)
    results["storage"] = measure_storage(sample, DEFAULT_BOUND, DEFAULT_JPEG_QUALITY)
    results["job_flow"] = args.job_flow
    with tempfile.TemporaryDirectory(prefix="ingest_benchmark_") as links:
        job = job_entries(root, args.job_videos, args.job_passes, links)
        results["job_clips"] = len(job)
        results["job"] = {w: measure_job(job, root, local_flags(int(w)), args.size, args.job_flow, args.repeats)
                          for w in args.workers.split(",")}
        results["processes"] = measure_process_scaling(job, args.size, args.job_flow)
    if "1" in results["job"]:
        results["job_vs_decode_flow"] = (results["job"]["1"]["steady_frames_per_s"]
                                         / results["decode_flow"]["frames_per_s"])
    if "1" in results["job"] and "2" in results["job"]:
        results["scaling_efficiency"] = (results["job"]["2"]["steady_frames_per_s"]
                                         / (2 * results["job"]["1"]["steady_frames_per_s"]))
        results["scaling_efficiency_raw"] = (results["job"]["2"]["frames_per_s"]
                                             / (2 * results["job"]["1"]["frames_per_s"]))
    return write_results(results, args.out, markdown)


if __name__ == "__main__":
    sys.exit(cli.run(main))
