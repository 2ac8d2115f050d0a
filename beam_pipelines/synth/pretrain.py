"""A pre-training set for the spatial net: many appearance classes, none a benchmark object.

Simonyan & Zisserman pre-train their spatial net on ImageNet (Table 1a); no ImageNet
weights can be had here, so the renderer makes a larger appearance task of its own,
disjoint from the benchmark:

- Classes: N kits drawn in order from the seed, each a silhouette (disc, square, star),
  a pattern (sectors, checker) and two colours. A colour is redrawn while it lies within
  MIN_BENCHMARK_DISTANCE (Euclidean, RGB 0-255) of any colour of any benchmark kit, or
  within MIN_CONTRAST of the kit's other colour; a kit is redrawn while an earlier class
  of the same silhouette and pattern has colours that, matched either way, all lie within
  MIN_CLASS_DISTANCE of its own.
- Motion is a nuisance here: each clip draws one of all the renderer's motions.
- Scenes: the benchmark's palettes plus EXTRA_SCENES, which only this set uses.
- Seeds: dataset code PRETRAIN_CODE, which no benchmark dataset has, so no clip shares
  a seed stream with a benchmark clip. Every clip is its own group (actor and scene);
  every TEST_EVERY-th group is held out as the test split.

Written as MPEG-4 .avi files, a CSV manifest (`pretrain.csv`, so the records' dataset is
"pretrain") that `beam_pipelines.ingest --format csv` reads, a contact sheet and
`pretrain.json` (the kits and the distances they keep).
"""
from __future__ import annotations

import csv
import io
import json
import os
import time
from dataclasses import dataclass

import numpy as np

from beam_pipelines.storage import BEAM, join
from beam_pipelines.synth import pictures
from beam_pipelines.synth.classes import KITS, MOTIONS, Kit
from beam_pipelines.synth.generate import VIDEO_QUALITY, render_all
from beam_pipelines.synth.render import PROFILES, render_kit_clip
from beam_pipelines.synth.textures import SCENES
from media.storage import write_bytes, write_text
from media.video import encode_video

PRETRAIN_CODE = 3  # seed key of this set; render.DATASET_CODES gives the benchmark's 1 and 2
MIN_BENCHMARK_DISTANCE = 80.0
MIN_CONTRAST = 80.0
MIN_CLASS_DISTANCE = 60.0
SHAPES = ("disc", "square", "star")
PATTERNS = ("sectors", "checker")
LENGTHS = (12, 16)  # inclusive range of frames per clip
TEST_EVERY = 4
CODEC, FPS = "mpeg4", 25.0
PLAN_STREAM = 201  # appended to a clip's keys for its length and motion (render uses 1, 2, 101 and 102)
MAX_DRAWS = 10_000
# (dark, light, accent) RGB palettes used by this set only: snow, dusk, shallow water, brick, night.
EXTRA_SCENES = (
    ((170, 180, 195), (235, 240, 250), (120, 130, 150)),
    ((60, 40, 80), (200, 130, 110), (240, 190, 120)),
    ((20, 90, 100), (90, 180, 175), (220, 225, 200)),
    ((110, 50, 40), (185, 110, 85), (200, 200, 190)),
    ((15, 20, 40), (60, 70, 110), (230, 220, 150)),
)
BENCHMARK_COLORS = np.array([color for kit in KITS.values() for color in kit.colors], np.float64)


@dataclass(frozen=True)
class PretrainClip:
    name: str     # class name, also its folder
    label: int    # 0-based class index
    group: int    # 1-based; one clip per group
    length: int
    motion: str
    path: str     # relative to <out>/pretrain/
    split: str    # "train" or "test"


def _distance(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


def benchmark_distance(color) -> float:
    """Distance from an RGB colour to the nearest colour of any benchmark kit."""
    return float(np.linalg.norm(BENCHMARK_COLORS - np.asarray(color, np.float64), axis=1).min())


def kit_distance(a: Kit, b: Kit) -> float:
    """How far apart two kits' colour pairs are: the larger colour move, under the closer matching."""
    return min(max(_distance(a.colors[0], b.colors[0]), _distance(a.colors[1], b.colors[1])),
               max(_distance(a.colors[0], b.colors[1]), _distance(a.colors[1], b.colors[0])))


def _draw_color(rng: np.random.Generator, other=None) -> tuple[int, int, int]:
    for _ in range(MAX_DRAWS):
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        if benchmark_distance(color) >= MIN_BENCHMARK_DISTANCE and (
                other is None or _distance(color, other) >= MIN_CONTRAST):
            return color
    raise ValueError("no colour keeps the distances from the benchmark kits")


def draw_kits(seed: int, count: int) -> list[Kit]:
    """The classes' kits, drawn in order: the first k are the same for any count >= k."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, PRETRAIN_CODE]))
    kits: list[Kit] = []
    while len(kits) < count:
        for _ in range(MAX_DRAWS):
            shape, pattern = str(rng.choice(SHAPES)), str(rng.choice(PATTERNS))
            first = _draw_color(rng)
            kit = Kit(shape, (first, _draw_color(rng, first)), pattern, "")
            if all(kit_distance(kit, old) >= MIN_CLASS_DISTANCE for old in kits
                   if (old.shape, old.pattern) == (shape, pattern)):
                break
        else:
            raise ValueError(f"could not draw {count} kits {MIN_CLASS_DISTANCE:g} apart; ask for fewer classes")
        colors = " and ".join(f"rgb{color}".replace(" ", "") for color in kit.colors)
        kits.append(Kit(shape, kit.colors, pattern, f"{colors} {pattern} {shape}"))
    return kits


def class_name(index: int, kit: Kit) -> str:
    return f"p{index:03d}_{kit.shape}_{kit.pattern}"


def plan(seed: int, kits: list[Kit], clips: int) -> list[PretrainClip]:
    """Every clip to render, in a fixed order, with its length and motion drawn from its own keys."""
    jobs = []
    for label, kit in enumerate(kits):
        name = class_name(label, kit)
        for group in range(1, clips + 1):
            rng = np.random.default_rng(np.random.SeedSequence([seed, PRETRAIN_CODE, label, group, 1, PLAN_STREAM]))
            length = int(rng.integers(LENGTHS[0], LENGTHS[1] + 1))
            jobs.append(PretrainClip(name, label, group, length, str(rng.choice(MOTIONS)),
                                     f"{name}/{name}_g{group:02d}.avi",
                                     "test" if group % TEST_EVERY == 0 else "train"))
    return jobs


def render(seed: int, kit: Kit, job: PretrainClip, profile: str) -> np.ndarray:
    """The clip's RGB frames [T,H,W,3]."""
    keys = (seed, PRETRAIN_CODE, job.label, job.group)
    return render_kit_clip(kit, job.motion, keys, 1, profile, length=job.length,
                           scenes=SCENES + EXTRA_SCENES).frames


def _render_job(args: tuple[str, int, str, Kit, PretrainClip]) -> dict:
    """Render and encode one clip; the first group's frames come back for the contact sheet."""
    out, seed, profile, kit, job = args
    frames = render(seed, kit, job, profile)
    video = encode_video(frames, os.path.splitext(job.path)[1], fps=FPS, codec=CODEC, quality=VIDEO_QUALITY,
                         name=job.path)
    write_bytes(BEAM, join(out, job.path), video)
    return {"frames": len(frames), "bytes": len(video), "sheet": frames if job.group == 1 else None}


def write_manifest(path: str, jobs: list[PretrainClip]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["path", "label", "split", "group"])
    for job in jobs:
        writer.writerow([job.path, job.name, job.split, f"{job.name}_g{job.group:02d}"])
    write_text(BEAM, path, text.getvalue())


def generate_pretrain(out: str, seed: int = 0, profile: str = "small", classes: int = 40, clips: int = 8,
                      processes: int = 2) -> dict:
    """Write the pre-training set under <out>/pretrain/ and return what pretrain.json records."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}")
    if classes < 2:
        raise ValueError(f"the pre-training set needs at least 2 classes, got {classes}")
    if clips < TEST_EVERY:
        raise ValueError(f"clips per class must be >= {TEST_EVERY} (every {TEST_EVERY}th is a test clip), got {clips}")
    root = join(out, "pretrain")
    kits = draw_kits(seed, classes)
    jobs = plan(seed, kits, clips)
    start = time.perf_counter()
    stats = render_all(_render_job, [(root, seed, profile, kits[job.label], job) for job in jobs], processes)
    seconds = time.perf_counter() - start
    manifest = join(root, "pretrain.csv")
    write_manifest(manifest, jobs)
    rows = [(job.name, (kits[job.label].shape, kits[job.label].pattern), s["sheet"])
            for job, s in zip(jobs, stats) if s["sheet"] is not None]
    pictures.save_png(join(root, "contact_sheet.png"), pictures.contact_sheet(rows))
    nearest_same = [kit_distance(a, b) for i, a in enumerate(kits) for b in kits[:i]
                    if (a.shape, a.pattern) == (b.shape, b.pattern)]
    info = {
        "profile": profile, "seed": seed, "seed_code": PRETRAIN_CODE, "manifest": manifest,
        "frame_size": dict(zip(("height", "width"), PROFILES[profile].size)), "frames_per_clip": list(LENGTHS),
        "classes": classes, "clips_per_class": clips, "videos": len(jobs),
        "test_videos": sum(job.split == "test" for job in jobs), "frames": sum(s["frames"] for s in stats),
        "bytes": sum(s["bytes"] for s in stats), "codec": CODEC, "fps": FPS,
        "rules": {"min_benchmark_distance": MIN_BENCHMARK_DISTANCE, "min_contrast": MIN_CONTRAST,
                  "min_class_distance": MIN_CLASS_DISTANCE, "distance": "Euclidean in RGB 0-255"},
        "nearest": {"benchmark": round(min(benchmark_distance(c) for kit in kits for c in kit.colors), 1),
                    "same_shape_and_pattern": round(min(nearest_same), 1) if nearest_same else None},
        "kits": {class_name(i, kit): {"shape": kit.shape, "pattern": kit.pattern,
                                      "colors": [list(c) for c in kit.colors]} for i, kit in enumerate(kits)},
        "scenes": len(SCENES + EXTRA_SCENES),
        "timing": {"processes": processes, "render_encode_seconds": round(seconds, 2)},
    }
    write_text(BEAM, join(root, "pretrain.json"), json.dumps(info, indent=2))
    return info
