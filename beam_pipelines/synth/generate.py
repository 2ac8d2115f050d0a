"""Render the whole benchmark: videos, index files, ground truth, pictures, cue tables.

Clips are rendered by a process pool; every clip's randomness comes from its
own seed (seed, dataset, class, group, clip), so the output does not depend on
the number of processes or the order they finish in. Every file is encoded in memory and
written through Beam's FileSystems, so `out` may be a local folder or a bucket (gs://, s3://).
"""
from __future__ import annotations

import io
import json
import multiprocessing
import os
import time

import cv2
import numpy as np

from beam_pipelines.storage import BEAM, join
from beam_pipelines.synth import layout, pictures
from beam_pipelines.synth.classes import CLASSES, CUE_CLASSES, classes_of, cue_table
from beam_pipelines.synth.render import FLOW_BOUND, PROFILES, find_class, render_clip
from media.ceilings import CUE_TABLE_FILE
from media.storage import write_bytes, write_text
from media.video import encode_video

VIDEO_QUALITY = 4
FLOW_PICTURE_CLASSES = ("SwingBall", "BounceBall", "SpinBall", "ApproachBall", "RecedeBall")
CUE_FLOW_PICTURE_CLASSES = ("AppleBounces", "LemonBounces", "SwingThenBounce", "BounceThenSwing")


def groundtruth_path(out: str, job: layout.ClipJob) -> str:
    return join(out, "groundtruth", job.dataset, job.stem + ".npz")


def _init_worker() -> None:
    cv2.setNumThreads(1)


def render_all(function, tasks: list, processes: int) -> list:
    """function(task) for every task in a pool of single-threaded workers, results in task order.

    Workers are spawned, not forked: a forked worker inherits OpenCV's thread pool as the
    caller's threads left it, and could hang for good in cv2.setNumThreads (one did under
    pytest, after the test process had rendered clips itself).
    """
    with multiprocessing.get_context("spawn").Pool(processes, initializer=_init_worker) as pool:
        return pool.map(function, tasks, chunksize=1)


def render_job(args: tuple[str, int, str, layout.ClipJob]) -> dict:
    """Render, encode and store one clip; returns its statistics for benchmark.json."""
    out, seed, profile, job = args
    clip = render_clip(job.name, seed, job.group, job.clip, profile, view=job.view, dataset=job.dataset)
    codec, fps = layout.CODECS[job.dataset]
    video = encode_video(clip.frames, os.path.splitext(job.path)[1], fps=fps, codec=codec, quality=VIDEO_QUALITY,
                         name=job.path)
    write_bytes(BEAM, join(out, job.dataset, job.path), video)
    truth = io.BytesIO()
    np.savez_compressed(truth, flow=clip.flow.astype(np.float16), valid=clip.valid)
    write_bytes(BEAM, groundtruth_path(out, job), truth.getvalue())
    return {"frames": len(clip.frames), "motion": clip.motion, "max_abs_flow": float(np.abs(clip.flow).max()),
            "valid_fraction": float(clip.valid.mean()), "bytes": len(video)}


def _pictures(out: str, seed: int, profile: str) -> None:
    folder = join(out, "pictures")
    cue_set = "wherewhen" in PROFILES[profile].datasets
    rows = []
    for cls in CUE_CLASSES if cue_set else CLASSES:
        dataset = "wherewhen" if cue_set else "ucf101" if cls.ucf_name else "hmdb51"
        name = cls.ucf_name or cls.hmdb_name
        clip = render_clip(name, seed, profile=profile, dataset=dataset)
        rows.append((name, (cls.kit, clip.motion, cls.stream.split(" ")[0]), clip.frames))
    pictures.save_png(join(folder, "contact_sheet.png"), pictures.contact_sheet(rows))
    for name in CUE_FLOW_PICTURE_CLASSES if cue_set else FLOW_PICTURE_CLASSES:
        clip = render_clip(name, seed, profile=profile, dataset="wherewhen" if cue_set else "ucf101")
        strip = pictures.flow_strip(clip.frames, clip.flow, clip.valid, FLOW_BOUND / 2)
        pictures.save_png(join(folder, f"flow_v_{name}_g01_c01.png"), strip)


def generate(out: str, seed: int = 0, profile: str = "small", multiview: bool = False,
             processes: int = 2) -> dict:
    """Write the benchmark under `out` (a folder or a bucket) and return what benchmark.json records."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}")
    spec = PROFILES[profile]
    if multiview and "ucf101" not in spec.datasets:
        raise ValueError(f"--multiview re-renders the UCF-like set, which profile {profile!r} has not")
    jobs = layout.plan(spec, multiview)
    start = time.perf_counter()
    stats = render_all(render_job, [(out, seed, profile, job) for job in jobs], processes)
    render_seconds = time.perf_counter() - start

    datasets = sorted({job.dataset for job in jobs}, key=("ucf101", "hmdb51", "multiview", "wherewhen").index)
    summary = {}
    for dataset in datasets:
        own = [job for job in jobs if job.dataset == dataset]
        root = join(out, dataset)
        {"ucf101": layout.write_ucf_lists, "hmdb51": layout.write_hmdb_splits,
         "multiview": layout.write_manifest,
         "wherewhen": lambda folder, clips: layout.write_ucf_lists(folder, clips, "wherewhen")}[dataset](root, own)
        write_text(BEAM, join(root, CUE_TABLE_FILE), json.dumps(cue_table(dataset), indent=1, sort_keys=True))
        own_stats = [s for job, s in zip(jobs, stats) if job.dataset == dataset]
        codec, fps = layout.CODECS[dataset]
        summary[dataset] = {
            "root": root,
            "classes": [name for name, _ in classes_of(dataset)],
            "class_streams": {name: find_class(name).stream for name, _ in classes_of(dataset)},
            "videos": len(own),
            "test_videos_per_split": {str(split): sum(job.fold == split for job in own) for split in layout.SPLITS},
            "frames": sum(s["frames"] for s in own_stats),
            "codec": codec, "container": os.path.splitext(own[0].path)[1], "fps": fps,
            "bytes": sum(s["bytes"] for s in own_stats),
            "max_abs_flow_px": round(max(s["max_abs_flow"] for s in own_stats), 3),
            "mean_valid_fraction": round(float(np.mean([s["valid_fraction"] for s in own_stats])), 4),
        }
    start_pictures = time.perf_counter()
    _pictures(out, seed, profile)
    benchmark = {
        "profile": profile, "seed": seed, "multiview": multiview,
        "frame_size": {"height": spec.size[0], "width": spec.size[1]},
        "frames_per_clip": list(spec.lengths), "groups_per_class": spec.groups,
        "clips_per_group": spec.clips_per_group, "flow_bound_px": FLOW_BOUND,
        "datasets": summary,
        "timing": {"processes": processes, "render_encode_seconds": round(render_seconds, 2),
                   "pictures_seconds": round(time.perf_counter() - start_pictures, 2)},
    }
    write_text(BEAM, join(out, "benchmark.json"), json.dumps(benchmark, indent=2))
    return benchmark
