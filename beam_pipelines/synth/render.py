"""Render one synthetic clip with exact ground-truth flow.

The scene is three layers in world coordinates: a textured background, the
object (a sprite placed by an affine pose per frame) and sometimes an occluder.
A camera (pan plus shake) maps world to screen. View 1 is a second camera:
mirrored, rotated, zoomed, looking at the scene from another elevation (a
perspective tilt of 30-40 degrees, so the far side shrinks) and with its own
colour response (warmer: red up, blue down). Every layer is drawn by backward
warping (cv2.remap) through those projective maps, so the true displacement of
each pixel from frame t to t+1 is the composition of the same maps:
prev(y, x) ~ next(y + v, x + u), the convention of media/flow.py.
Pixels whose layer changes between the frames (occlusion, disocclusion,
antialiased edges) or that leave the frame are marked invalid.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from beam_pipelines.synth import textures
from beam_pipelines.synth.classes import ALL_CLASSES, KITS, WHEN_GAP, WHEN_SEGMENT, Kit, SynthClass
from beam_pipelines.synth.motion import STILL, Trajectory, draw_motion, speed_unit, trajectory

# Flows are quantised from [-bound, bound] downstream; every motion stays inside.
FLOW_BOUND = 20.0
# Largest on-screen scale of an object; sprites are drawn at this size.
MAX_SCALE = float(np.exp(1.0))
# Seeds are derived from (seed, dataset code, class, group, clip[, view]) so
# clips can be rendered in any order or process. The multi-view set reuses the
# UCF-like clips, so its view 0 is the same moment as the ucf101 clip.
DATASET_CODES = {"ucf101": 1, "hmdb51": 2, "multiview": 1, "wherewhen": 4}  # 3: pretrain.PRETRAIN_CODE
OCCLUDER_PROBABILITY = 0.4
# View 1's camera: tilt (radians, either sign) and focal length (x image width) of the
# perspective, and its RGB gains. Drawn from their own seed stream, so view 0 (and the
# UCF-like clips it equals) render exactly as before.
VIEW1_TILT = (0.52, 0.70)
VIEW1_FOCAL = 1.0
VIEW1_GAINS = (1.2, 0.95, 0.72)
VIEW1_STREAM = 101
# "Where" and "when" clips draw their second object and their timing from this stream, so the
# clip stream's draws keep the order every class shares.
CUE_STREAM = 102
# "Where" clips: the two objects sit this far (x frame width) either side of the centre.
WHERE_OFFSET = 0.25
PURE = 0.99  # alpha above this (or below 1 - this) counts as one layer only


@dataclass(frozen=True)
class Profile:
    name: str
    size: tuple[int, int]      # (height, width), both even for yuv420p
    lengths: tuple[int, int]   # inclusive range of frames per clip ("when" clips: set by their timing)
    groups: int                # groups per class, a multiple of 3 (folds)
    clips_per_group: int
    datasets: tuple[str, ...] = ("ucf101", "hmdb51")


PROFILES = {
    "tiny": Profile("tiny", (64, 80), (12, 16), 3, 1),
    "small": Profile("small", (112, 144), (24, 36), 9, 2),
    "full": Profile("full", (240, 320), (32, 64), 15, 4),
    # The small profile's clips, but 27 groups of 7 (UCF-101 has 25 groups of 4-7): a split
    # tests 63 videos a class (630 UCF-like, 504 HMDB-like), enough to tell 1-3 point effects.
    "results": Profile("results", (112, 144), (24, 36), 27, 7),
    # `make demo`: the UCF-like set alone, in more but shorter clips (27 groups of 1, 16-24 frames):
    # as many frames as the small profile's UCF-like set, three times the scenes to learn from.
    "demo": Profile("demo", (112, 144), (16, 24), 27, 1, ("ucf101",)),
    # The "wherewhen" set (classes.CUE_CLASSES). "When" clips run 43-67 frames (three pauses and two
    # motions), "where" clips as long. wherewhen: 10 groups of 25 clips per fold, so a split tests
    # 250 videos a class, 500 a compared pair (8 classes, 6,000 videos in all).
    "wherewhen_tiny": Profile("wherewhen_tiny", (64, 80), (43, 67), 3, 1, ("wherewhen",)),
    "wherewhen_small": Profile("wherewhen_small", (112, 144), (43, 67), 9, 2, ("wherewhen",)),
    "wherewhen": Profile("wherewhen", (112, 144), (43, 67), 30, 25, ("wherewhen",)),
}


@dataclass(frozen=True)
class RenderedClip:
    frames: np.ndarray  # uint8 [T,H,W,3] RGB
    flow: np.ndarray    # float32 [T-1,H,W,2] forward flow (u, v) in pixels
    valid: np.ndarray   # bool [T-1,H,W]
    motion: str         # the concrete motion ("mixed" classes draw one)


def find_class(name: str) -> SynthClass:
    for cls in ALL_CLASSES:
        if name in (cls.ucf_name, cls.hmdb_name):
            return cls
    raise ValueError(f"unknown synthetic class {name!r}")


def _translate(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], np.float64)


def _linear(matrix: np.ndarray) -> np.ndarray:
    out = np.eye(3)
    out[:2, :2] = matrix
    return out


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _tilt(angle: float, focal: float) -> np.ndarray:
    """Screen -> scene plane for a camera tilted by `angle` about the horizontal axis (pinhole of
    this focal length in pixels; centred coordinates; the screen centre stays put)."""
    return np.array([[1, 0, 0], [0, 1 / np.cos(angle), 0], [0, -np.tan(angle) / focal, 1]], np.float64)


def _apply(matrix: np.ndarray, grid: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A projective map (affine when its last row is 0 0 1) applied to pixel coordinates."""
    x, y = grid
    w = matrix[2, 0] * x + matrix[2, 1] * y + matrix[2, 2]
    return (((matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2]) / w).astype(np.float32),
            ((matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2]) / w).astype(np.float32))


def _remap(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray], border: int) -> np.ndarray:
    return cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=border, borderValue=0)


def _layer_of(alpha_objects: np.ndarray, alpha_occluder: np.ndarray) -> np.ndarray:
    """Top layer per pixel: 0 background, k + 1 object k (later objects in front), K + 1 occluder."""
    top = np.zeros(alpha_occluder.shape, np.int64)
    for k, alpha in enumerate(alpha_objects):
        top = np.where(alpha > 0.5, k + 1, top)
    return np.where(alpha_occluder > 0.5, len(alpha_objects) + 1, top).astype(np.uint8)


def _pure(layer: np.ndarray, alpha_objects: np.ndarray, alpha_occluder: np.ndarray) -> np.ndarray:
    """True where only the top layer contributes to the pixel."""
    count = len(alpha_objects)
    clear = [alpha_occluder < 1 - PURE]  # clear[j]: nothing from object count - j on up covers it
    for alpha in alpha_objects[::-1]:
        clear.append(clear[-1] & (alpha < 1 - PURE))
    objects = [clear[count - 1 - k] & (alpha_objects[k] > PURE) for k in range(count)]
    return np.select([layer == count + 1] + [layer == k + 1 for k in range(count)],
                     [alpha_occluder > PURE] + objects, clear[-1])


def when_clocks(first: str, then: str, rng: np.random.Generator) -> tuple[int, dict[str, np.ndarray]]:
    """(frames, clocks) of a "when" clip: pause, `first`, pause, `then`, pause, every pause
    WHEN_GAP flow steps long; a motion's clock advances one per flow step it moves."""
    gaps = rng.integers(WHEN_GAP[0], WHEN_GAP[1] + 1, 3)
    moves = rng.integers(WHEN_SEGMENT[0], WHEN_SEGMENT[1] + 1, 2)
    steps = np.concatenate([np.zeros(gaps[0]), np.ones(moves[0]), np.zeros(gaps[1]), 2 * np.ones(moves[1]),
                            np.zeros(gaps[2])])
    clocks = {motion: np.concatenate([[0.0], np.cumsum(steps == k + 1)]) for k, motion in enumerate((first, then))}
    return len(steps) + 1, clocks


def where_paths(path: Trajectory, frames: int, size: tuple[int, int], radius: float,
                rng: np.random.Generator) -> list[Trajectory]:
    """[moving, still] object paths of a "where" clip: the still one frozen at a random point of the
    same kind of trajectory and as large as the moving one, each on a side drawn at random."""
    still = trajectory(STILL, frames, size, radius, rng, spread=(0.04, 0.1))
    side = rng.choice([-1.0, 1.0]) * WHERE_OFFSET * size[1]
    return [Trajectory(path.position + (side, 0), path.log_scale, path.angle),
            Trajectory(still.position - (side, 0), path.log_scale, still.angle)]


def render_clip(name: str, seed: int, group: int = 1, clip: int = 1, profile: str = "small",
                view: int = 0, dataset: str = "ucf101", photometric: bool = True,
                size: tuple[int, int] | None = None, length: int | None = None) -> RenderedClip:
    """Render one clip of a benchmark class in memory; the same arguments always give the same arrays.

    `photometric=False` switches off lighting changes and sensor noise (the
    geometry and the ground truth stay the same), for exact flow checks.
    """
    cls = find_class(name)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    keys = (seed, DATASET_CODES[dataset], ALL_CLASSES.index(cls), group)
    return render_kit_clip(KITS[cls.kit], cls.motion, keys, clip, profile, view=view, photometric=photometric,
                           size=size, length=length, still_kit=KITS[cls.still_kit] if cls.still_kit else None,
                           then=cls.then)


def render_kit_clip(kit: Kit, motion: str, keys: tuple[int, ...], clip: int = 1, profile: str = "small",
                    view: int = 0, photometric: bool = True, size: tuple[int, int] | None = None,
                    length: int | None = None, scenes: tuple = textures.SCENES, still_kit: Kit | None = None,
                    then: str | None = None) -> RenderedClip:
    """Render one clip of any kit and motion (one of MOTIONS or "mixed").

    `keys` seed the group (actor, scene); `clip` and `view` extend them for the
    clip's own draws, so a set of clips shares no randomness with another set
    whose keys differ (the benchmark's are (seed, dataset code, class, group)).
    `scenes` is the pool of scene palettes the group draws from. `still_kit`: a
    second, still object of that kit ("where"); `then`: the motion done after
    `motion` and a pause ("when"; the clip's length is then set by its timing).
    """
    if view not in (0, 1):
        raise ValueError(f"view must be 0 or 1, got {view}")
    if length is not None and length < 2:
        raise ValueError(f"a clip needs at least 2 frames for flow, got length={length}")
    spec = PROFILES[profile]
    height, width = size or spec.size
    keys = list(keys)
    group_rng = np.random.default_rng(np.random.SeedSequence(keys))
    clip_rng = np.random.default_rng(np.random.SeedSequence(keys + [clip]))
    noise_rng = np.random.default_rng(np.random.SeedSequence(keys + [clip, 1 + view]))

    # The group: one actor (object size and colours) in one scene.
    pad = max(height, width)
    canvas_shape = (height + 2 * pad, width + 2 * pad)
    canvas_center = np.array([(canvas_shape[1] - 1) / 2, (canvas_shape[0] - 1) / 2])
    scene = textures.background(group_rng, canvas_shape, scenes[int(group_rng.integers(len(scenes)))])
    radius = group_rng.uniform(0.10, 0.13) * min(height, width)
    sprite_radius = radius * MAX_SCALE
    pyramids = [textures.sprite_pyramid(kit, group_rng, sprite_radius)]
    if still_kit is not None:
        pyramids.append(textures.sprite_pyramid(still_kit, group_rng, sprite_radius))
    sprite_center = (pyramids[0][0].shape[1] - 1) / 2

    # The clip: length, motion, camera, viewpoint, lighting, occluder.
    frames_count = length or int(clip_rng.integers(spec.lengths[0], spec.lengths[1] + 1))
    cue_rng = np.random.default_rng(np.random.SeedSequence(keys + [clip, CUE_STREAM]))
    clocks = None
    if then is not None:
        frames_count, clocks = when_clocks(motion, then, cue_rng)
    motion = draw_motion(motion, clip_rng)
    path = trajectory(motion, frames_count, (height, width), radius, clip_rng, clocks=clocks,
                      spread=(0.04, 0.1) if still_kit is not None else (0.15, 0.1))
    objects = [(pyramids[0], path)]  # (sprite pyramid, path), back to front
    if still_kit is not None:
        objects = list(zip(pyramids, where_paths(path, frames_count, (height, width), radius, cue_rng)))
        objects = objects[::-1] if cue_rng.random() < 0.5 else objects
    unit = speed_unit(width)
    pan_angle, pan_speed = clip_rng.uniform(0, 2 * np.pi), clip_rng.uniform(0.5, 2.5) * unit
    shake_amp, shake_periods, shake_phases = (clip_rng.uniform(0, 1) * unit, clip_rng.uniform(6, 12, 2),
                                              clip_rng.uniform(0, 2 * np.pi, 2))
    view_angle, view_zoom = clip_rng.uniform(-0.17, 0.17), clip_rng.uniform(0.9, 1.1)
    view_offset = clip_rng.uniform(-0.08, 0.08, 2) * (width, height)
    gain, gain_amp, gain_period, gain_phase = (clip_rng.uniform(0.85, 1.15), clip_rng.uniform(0, 0.12),
                                               clip_rng.uniform(20, 60), clip_rng.uniform(0, 2 * np.pi))
    tint, noise_sigma = clip_rng.uniform(0.94, 1.06, 3), clip_rng.uniform(1.5, 4)
    occluder = None
    if clip_rng.random() < OCCLUDER_PROBABILITY:
        through = canvas_center + (clip_rng.uniform(-0.35, 0.35) * width, 0)
        occluder = textures.occluder(clip_rng, canvas_shape, tuple(through), clip_rng.uniform(0.04, 0.08) * width)

    t = np.arange(frames_count)
    middle = (frames_count - 1) / 2
    tracked = (canvas_center + np.outer(t - middle, pan_speed * np.array([np.cos(pan_angle), np.sin(pan_angle)]))
               + shake_amp * np.sin(2 * np.pi * t[:, None] / shake_periods + shake_phases))
    if view == 0:
        view_linear, camera, tilt = np.eye(2), tracked, np.eye(3)
    else:
        view_linear = view_zoom * _rotation(view_angle) @ np.diag([-1.0, 1.0])
        camera = tracked + view_offset
        view_rng = np.random.default_rng(np.random.SeedSequence(keys + [clip, VIEW1_STREAM]))
        tilt = _tilt(view_rng.uniform(*VIEW1_TILT) * view_rng.choice([-1.0, 1.0]), VIEW1_FOCAL * width)
    screen_center = ((width - 1) / 2, (height - 1) / 2)
    world_from_screen = [_translate(*camera[i]) @ _linear(view_linear) @ tilt
                         @ _translate(-screen_center[0], -screen_center[1]) for i in t]
    scales = [radius * np.exp(path.log_scale) / sprite_radius for _, path in objects]
    world_from_sprite = [[_translate(*(tracked[i] + path.position[i])) @ _linear(_rotation(path.angle[i]) * scale[i])
                          @ _translate(-sprite_center, -sprite_center) for i in t]
                         for (_, path), scale in zip(objects, scales)]

    grid = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    images = np.empty((frames_count, height, width, 3), np.float32)
    alpha_object = np.empty((len(objects), frames_count, height, width), np.float32)
    alpha_occluder = np.zeros((frames_count, height, width), np.float32)
    for i in t:
        world = _apply(world_from_screen[i], grid)
        image = _remap(scene, world, cv2.BORDER_REFLECT_101)
        for k, ((sprites, _), scale) in enumerate(zip(objects, scales)):
            level = int(np.clip(np.floor(np.log2(view_zoom / scale[i] if view else 1 / scale[i])), 0,
                                len(sprites) - 1))
            sprite_maps = _apply(np.diag([0.5 ** level, 0.5 ** level, 1]) @ np.linalg.inv(world_from_sprite[k][i])
                                 @ world_from_screen[i], grid)
            layer = _remap(sprites[level], sprite_maps, cv2.BORDER_CONSTANT)
            image = image * (1 - layer[..., 3:]) + layer[..., :3]
            alpha_object[k, i] = layer[..., 3]
        if occluder is not None:
            layer = _remap(occluder, world, cv2.BORDER_CONSTANT)
            image = image * (1 - layer[..., 3:]) + layer[..., :3]
            alpha_occluder[i] = layer[..., 3]
        images[i] = image

    flow = np.empty((frames_count - 1, height, width, 2), np.float32)
    valid = np.empty((frames_count - 1, height, width), bool)
    x, y = grid
    for i in t[:-1]:
        screen_next = np.linalg.inv(world_from_screen[i + 1])
        static = _apply(screen_next @ world_from_screen[i], grid)
        layer = _layer_of(alpha_object[:, i], alpha_occluder[i])
        to_x, to_y = static
        for k, sprite in enumerate(world_from_sprite):
            moving = _apply(screen_next @ sprite[i + 1] @ np.linalg.inv(sprite[i]) @ world_from_screen[i], grid)
            to_x = np.where(layer == k + 1, moving[0], to_x)
            to_y = np.where(layer == k + 1, moving[1], to_y)
        flow[i, ..., 0], flow[i, ..., 1] = to_x - x, to_y - y
        after_object = np.stack([_remap(alpha[i + 1], (to_x, to_y), cv2.BORDER_CONSTANT) for alpha in alpha_object])
        after_occluder = _remap(alpha_occluder[i + 1], (to_x, to_y), cv2.BORDER_CONSTANT)
        inside = (to_x >= 0) & (to_x <= width - 1) & (to_y >= 0) & (to_y <= height - 1)
        valid[i] = (_pure(layer, alpha_object[:, i], alpha_occluder[i]) & inside
                    & (_layer_of(after_object, after_occluder) == layer)
                    & _pure(layer, after_object, after_occluder))

    if view == 1:
        images *= np.asarray(VIEW1_GAINS, np.float32)
    if photometric:
        light = gain * (1 + gain_amp * np.sin(2 * np.pi * t / gain_period + gain_phase))
        images = images * (light[:, None, None, None] * tint)
        images += noise_rng.normal(0, noise_sigma, images.shape).astype(np.float32)
    frames = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    return RenderedClip(frames, flow, valid, motion if then is None else f"{motion}, then {then}")
