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
from beam_pipelines.synth.classes import CLASSES, KITS, Kit, SynthClass
from beam_pipelines.synth.motion import draw_motion, speed_unit, trajectory

# Flows are quantised from [-bound, bound] downstream; every motion stays inside.
FLOW_BOUND = 20.0
# Largest on-screen scale of an object; sprites are drawn at this size.
MAX_SCALE = float(np.exp(1.0))
# Seeds are derived from (seed, dataset code, class, group, clip[, view]) so
# clips can be rendered in any order or process. The multi-view set reuses the
# UCF-like clips, so its view 0 is the same moment as the ucf101 clip.
DATASET_CODES = {"ucf101": 1, "hmdb51": 2, "multiview": 1}
OCCLUDER_PROBABILITY = 0.4
# View 1's camera: tilt (radians, either sign) and focal length (x image width) of the
# perspective, and its RGB gains. Drawn from their own seed stream, so view 0 (and the
# UCF-like clips it equals) render exactly as before.
VIEW1_TILT = (0.52, 0.70)
VIEW1_FOCAL = 1.0
VIEW1_GAINS = (1.2, 0.95, 0.72)
VIEW1_STREAM = 101
PURE = 0.99  # alpha above this (or below 1 - this) counts as one layer only


@dataclass(frozen=True)
class Profile:
    name: str
    size: tuple[int, int]      # (height, width), both even for yuv420p
    lengths: tuple[int, int]   # inclusive range of frames per clip
    groups: int                # groups per class, a multiple of 3 (folds)
    clips_per_group: int


PROFILES = {
    "tiny": Profile("tiny", (64, 80), (12, 16), 3, 1),
    "small": Profile("small", (112, 144), (24, 36), 9, 2),
    "full": Profile("full", (240, 320), (32, 64), 15, 4),
    # The small profile's clips, but 27 groups of 7 (UCF-101 has 25 groups of 4-7): a split
    # tests 63 videos a class (630 UCF-like, 504 HMDB-like), enough to tell 1-3 point effects.
    "results": Profile("results", (112, 144), (24, 36), 27, 7),
}


@dataclass(frozen=True)
class RenderedClip:
    frames: np.ndarray  # uint8 [T,H,W,3] RGB
    flow: np.ndarray    # float32 [T-1,H,W,2] forward flow (u, v) in pixels
    valid: np.ndarray   # bool [T-1,H,W]
    motion: str         # the concrete motion ("mixed" classes draw one)


def find_class(name: str) -> SynthClass:
    for cls in CLASSES:
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


def _layer_of(alpha_object: np.ndarray, alpha_occluder: np.ndarray) -> np.ndarray:
    """Top layer per pixel: 0 background, 1 object, 2 occluder."""
    return np.where(alpha_occluder > 0.5, 2, np.where(alpha_object > 0.5, 1, 0)).astype(np.uint8)


def _pure(layer: np.ndarray, alpha_object: np.ndarray, alpha_occluder: np.ndarray) -> np.ndarray:
    """True where only the top layer contributes to the pixel."""
    clear_occ = alpha_occluder < 1 - PURE
    return np.select([layer == 2, layer == 1],
                     [alpha_occluder > PURE, clear_occ & (alpha_object > PURE)],
                     clear_occ & (alpha_object < 1 - PURE))


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
    keys = (seed, DATASET_CODES[dataset], CLASSES.index(cls), group)
    return render_kit_clip(KITS[cls.kit], cls.motion, keys, clip, profile, view=view, photometric=photometric,
                           size=size, length=length)


def render_kit_clip(kit: Kit, motion: str, keys: tuple[int, ...], clip: int = 1, profile: str = "small",
                    view: int = 0, photometric: bool = True, size: tuple[int, int] | None = None,
                    length: int | None = None, scenes: tuple = textures.SCENES) -> RenderedClip:
    """Render one clip of any kit and motion (one of MOTIONS or "mixed").

    `keys` seed the group (actor, scene); `clip` and `view` extend them for the
    clip's own draws, so a set of clips shares no randomness with another set
    whose keys differ (the benchmark's are (seed, dataset code, class, group)).
    `scenes` is the pool of scene palettes the group draws from.
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
    sprites = textures.sprite_pyramid(kit, group_rng, sprite_radius)
    sprite_center = (sprites[0].shape[1] - 1) / 2

    # The clip: length, motion, camera, viewpoint, lighting, occluder.
    frames_count = length or int(clip_rng.integers(spec.lengths[0], spec.lengths[1] + 1))
    motion = draw_motion(motion, clip_rng)
    path = trajectory(motion, frames_count, (height, width), radius, clip_rng)
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
    scale = radius * np.exp(path.log_scale) / sprite_radius
    world_from_sprite = [_translate(*(tracked[i] + path.position[i])) @ _linear(_rotation(path.angle[i]) * scale[i])
                         @ _translate(-sprite_center, -sprite_center) for i in t]

    grid = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    images = np.empty((frames_count, height, width, 3), np.float32)
    alpha_object = np.empty((frames_count, height, width), np.float32)
    alpha_occluder = np.zeros((frames_count, height, width), np.float32)
    for i in t:
        world = _apply(world_from_screen[i], grid)
        image = _remap(scene, world, cv2.BORDER_REFLECT_101)
        level = int(np.clip(np.floor(np.log2(view_zoom / scale[i] if view else 1 / scale[i])), 0, len(sprites) - 1))
        sprite_maps = _apply(np.diag([0.5 ** level, 0.5 ** level, 1]) @ np.linalg.inv(world_from_sprite[i])
                             @ world_from_screen[i], grid)
        layer = _remap(sprites[level], sprite_maps, cv2.BORDER_CONSTANT)
        image = image * (1 - layer[..., 3:]) + layer[..., :3]
        alpha_object[i] = layer[..., 3]
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
        moving = _apply(screen_next @ world_from_sprite[i + 1] @ np.linalg.inv(world_from_sprite[i])
                        @ world_from_screen[i], grid)
        layer = _layer_of(alpha_object[i], alpha_occluder[i])
        to_x = np.where(layer == 1, moving[0], static[0])
        to_y = np.where(layer == 1, moving[1], static[1])
        flow[i, ..., 0], flow[i, ..., 1] = to_x - x, to_y - y
        after_object = _remap(alpha_object[i + 1], (to_x, to_y), cv2.BORDER_CONSTANT)
        after_occluder = _remap(alpha_occluder[i + 1], (to_x, to_y), cv2.BORDER_CONSTANT)
        inside = (to_x >= 0) & (to_x <= width - 1) & (to_y >= 0) & (to_y <= height - 1)
        valid[i] = (_pure(layer, alpha_object[i], alpha_occluder[i]) & inside
                    & (_layer_of(after_object, after_occluder) == layer)
                    & _pure(layer, after_object, after_occluder))

    if view == 1:
        images *= np.asarray(VIEW1_GAINS, np.float32)
    if photometric:
        light = gain * (1 + gain_amp * np.sin(2 * np.pi * t / gain_period + gain_phase))
        images = images * (light[:, None, None, None] * tint)
        images += noise_rng.normal(0, noise_sigma, images.shape).astype(np.float32)
    frames = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    return RenderedClip(frames, flow, valid, motion)
