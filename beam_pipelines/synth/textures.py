"""Procedural textures: scenes (backgrounds), object sprites and occluders.

Everything is smooth at the pixel scale so that bilinear resampling is nearly
exact; that keeps the ground-truth flow honest when frames are warped by it.
"""
from __future__ import annotations

import cv2
import numpy as np

from beam_pipelines.synth.classes import Kit

# Scene palettes (dark, light, accent) shared by every class: the scene is a
# nuisance, never a cue. Values are RGB.
SCENES = (
    ((40, 80, 35), (120, 170, 80), (190, 180, 90)),     # park
    ((150, 120, 70), (225, 200, 150), (120, 90, 60)),   # sand
    ((70, 45, 30), (160, 110, 70), (210, 190, 160)),    # indoor wood
    ((60, 60, 65), (150, 150, 155), (170, 60, 50)),     # street
    ((60, 90, 140), (170, 200, 230), (240, 240, 240)),  # sky and cloud
)

SUPERSAMPLE = 4
SPRITE_LEVELS = 4


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Band-limited noise in about [0, 1]: coarse random values, cubic upsampling."""
    height, width = shape
    coarse = rng.standard_normal((int(height / cell) + 3, int(width / cell) + 3)).astype(np.float32)
    fine = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    fine = cv2.GaussianBlur(fine, (0, 0), max(cell / 4, 0.6))
    low, high = np.percentile(fine, (1, 99))
    return np.clip((fine - low) / max(high - low, 1e-6), 0, 1)


def background(rng: np.random.Generator, shape: tuple[int, int], palette: tuple) -> np.ndarray:
    """A textured scene canvas in a (dark, light, accent) palette, float32 RGB [H,W,3] in 0..255."""
    dark, light, accent = (np.array(color, np.float32) for color in palette)
    size = min(shape)
    mix = (0.4 * smooth_noise(rng, shape, size / 5) + 0.3 * smooth_noise(rng, shape, size / 18)
           + 0.3 * smooth_noise(rng, shape, 3.0))
    canvas = dark + (light - dark) * mix[..., None]
    spots = np.clip((smooth_noise(rng, shape, size / 10) - 0.7) * 5, 0, 1)[..., None]
    return (canvas * (1 - spots) + accent * spots).astype(np.float32)


def _shape_mask(shape: str, size: int, radius: float) -> np.ndarray:
    """Antialiased silhouette, float32 [size,size] in [0,1], centred."""
    big = size * SUPERSAMPLE
    mask = np.zeros((big, big), np.uint8)
    center = np.array([big / 2, big / 2])
    r = radius * SUPERSAMPLE
    if shape == "disc":
        cv2.circle(mask, (int(center[0]), int(center[1])), int(r), 255, -1, lineType=cv2.LINE_AA)
    elif shape == "square":
        half = r * 0.8
        cv2.rectangle(mask, tuple(int(v) for v in center - half), tuple(int(v) for v in center + half), 255, -1)
    elif shape == "star":
        angles = np.arange(10) * np.pi / 5 - np.pi / 2
        radii = np.where(np.arange(10) % 2 == 0, r, 0.45 * r)
        points = center + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], axis=1)
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 255, lineType=cv2.LINE_AA)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def sprite_pyramid(kit: Kit, rng: np.random.Generator, radius: float) -> list[np.ndarray]:
    """Premultiplied RGBA sprite levels (each half the size of the one before).

    Levels let the renderer sample a pre-filtered sprite when the object is
    small on screen, so shrinking objects do not alias.
    """
    size = 2 * int(np.ceil(radius * 1.1)) + 4
    mask = _shape_mask(kit.shape, size, radius)
    coords = (np.arange(size, dtype=np.float32) - (size - 1) / 2) / radius
    x, y = np.meshgrid(coords, coords)
    if kit.pattern == "sectors":
        sectors = int(rng.integers(3, 5))
        pattern = np.sin(sectors * np.arctan2(y, x) + rng.uniform(0, 2 * np.pi)) * np.clip(np.hypot(x, y) * 8, 0, 1)
    else:
        pattern = np.sin(np.pi * 2.5 * x) * np.sin(np.pi * 2.5 * y)
    weight = (0.5 + 0.5 * np.tanh(3 * pattern))[..., None]
    jitter = rng.uniform(0.88, 1.12, size=(2, 3))
    first, second = (np.array(color, np.float32) * scale for color, scale in zip(kit.colors, jitter))
    rgb = first * weight + second * (1 - weight)
    light = 1.05 - 0.3 * np.clip(np.hypot(x + 0.35, y + 0.35), 0, 1.5)[..., None]
    rgb = np.clip(rgb * light + 12 * (smooth_noise(rng, (size, size), 6.0)[..., None] - 0.5), 0, 255)
    levels = [np.dstack([rgb * mask[..., None], mask]).astype(np.float32)]
    for _ in range(SPRITE_LEVELS - 1):
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def occluder(rng: np.random.Generator, shape: tuple[int, int], through: tuple[float, float],
             width: float) -> np.ndarray:
    """A pole or branch across the scene: premultiplied RGBA canvas [H,W,4]."""
    height, canvas_width = shape
    angle = rng.uniform(-0.35, 0.35)
    normal = np.array([np.cos(angle), np.sin(angle)], np.float32)
    y, x = np.mgrid[0:height, 0:canvas_width].astype(np.float32)
    distance = (x - through[0]) * normal[0] + (y - through[1]) * normal[1]
    alpha = np.clip(width / 2 - np.abs(distance) + 0.5, 0, 1)
    base = np.array(rng.choice([(70, 50, 35), (90, 90, 95), (45, 60, 40)]), np.float32)
    shade = 0.7 + 0.6 * smooth_noise(rng, shape, 4.0)[..., None]
    rgb = np.clip(base * shade, 0, 255)
    return np.dstack([rgb * alpha[..., None], alpha]).astype(np.float32)
