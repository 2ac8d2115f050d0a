"""Object pose trajectories: position, log-scale and angle per frame.

Every clip draws the full set of parameters. The class's motion decides which
of them advance with time; the others stay frozen at a random point of the
same trajectory, so the per-frame distribution of the pose is the same for
all motion-only classes and only the change between frames tells them apart.
Speeds are in pixels per frame and scale with the frame size (`unit`), which
keeps the largest displacement well inside the 20 px flow bound.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beam_pipelines.synth.classes import MIXED_MOTIONS, MOTIONS


MAX_SPIN = 0.35  # radians per frame
# Not a class's motion: every parameter frozen at a random point (the still object of a "where" class).
STILL = "still"


@dataclass(frozen=True)
class Trajectory:
    position: np.ndarray   # float [T,2] (x, y) offset from the tracked point, px
    log_scale: np.ndarray  # float [T]
    angle: np.ndarray      # float [T] radians


def speed_unit(width: int) -> float:
    """Pixels per frame of a 'unit' speed: 1 at 144 px wide, bounded for tiny and big frames."""
    return float(np.clip(width / 144, 0.6, 1.3))


def triangle(phase: np.ndarray) -> np.ndarray:
    """Triangle wave in [-1, 1] with slope 2/pi: constant speed, sharp turns."""
    return 2 / np.pi * np.arcsin(np.sin(phase))


def draw_motion(motion: str, rng: np.random.Generator) -> str:
    """Resolve "mixed" to one concrete motion; the draw is made for every class."""
    mixed = str(rng.choice(MIXED_MOTIONS))
    return mixed if motion == "mixed" else motion


def trajectory(motion: str, length: int, size: tuple[int, int], radius: float,
               rng: np.random.Generator, clocks: dict[str, np.ndarray] | None = None,
               spread: tuple[float, float] = (0.15, 0.1)) -> Trajectory:
    """`clocks`: frames each of swing/bounce/spin has advanced by frame t (default: the motion's
    clock is t), so one object can do one motion, pause, then another. `spread`: the half-range
    of the base position (x, y) as fractions of the frame."""
    if motion not in MOTIONS + (STILL,):
        raise ValueError(f"unknown motion {motion!r}; choose from {MOTIONS}")
    height, width = size
    unit = speed_unit(width)
    t = np.arange(length, dtype=np.float64)
    middle = (length - 1) / 2
    clocks = {motion: t} if clocks is None else clocks
    base = np.array([rng.uniform(-spread[0], spread[0]) * width, rng.uniform(-spread[1], spread[1]) * height])
    turn = 2 * np.pi
    swing_amp, swing_speed, swing_phase = rng.uniform(0.12, 0.2) * width, rng.uniform(4, 8) * unit, rng.uniform(0, turn)
    bounce_amp, bounce_speed, bounce_phase = (rng.uniform(0.1, 0.16) * height, rng.uniform(4, 8) * unit,
                                              rng.uniform(0, turn))
    spin_speed, spin_sign, angle0 = rng.uniform(3, 6) * unit, rng.choice([-1.0, 1.0]), rng.uniform(0, turn)
    span, mean_log, frozen_time = rng.uniform(1.2, 1.5), rng.uniform(0.1, 0.25), rng.uniform(0, length - 1)
    shake_amp, shake_speed, shake_phase = rng.uniform(0.03, 0.05) * width, rng.uniform(4, 8) * unit, rng.uniform(0, turn)
    slide_dir, slide_amp, slide_speed, slide_phase = (rng.uniform(0, turn), rng.uniform(0.15, 0.22) * min(size),
                                                      rng.uniform(3, 6) * unit, rng.uniform(0, turn))
    orbit_amp, orbit_speed, orbit_sign, orbit_phase = (rng.uniform(0.1, 0.15) * min(size), rng.uniform(3, 6) * unit,
                                                       rng.choice([-1.0, 1.0]), rng.uniform(0, turn))

    rate = span / max(length - 1, 1)
    clock = {"approach": t - middle, "recede": middle - t}.get(motion, np.full(length, frozen_time - middle))
    log_scale = mean_log + rate * clock

    def moving(name: str, speed: float) -> np.ndarray:
        return clocks[name] * speed if name in clocks else np.zeros(length)

    x = base[0] + swing_amp * np.sin(swing_phase + moving("swing", swing_speed / swing_amp))
    bounce = np.abs(np.sin(bounce_phase + moving("bounce", bounce_speed / (2 * bounce_amp))))
    y = base[1] + bounce_amp * (1 - 2 * bounce)
    # Spin speed is the rim speed at the clip's (constant) scale, capped well below
    # the pattern's symmetry angle so the rotation stays unambiguous for small objects.
    angle = angle0 + spin_sign * moving("spin", min(spin_speed / (radius * np.exp(log_scale[0])), MAX_SPIN))
    if motion == "shake":
        x = base[0] + shake_amp * np.sin(shake_phase + t * shake_speed / shake_amp)
    elif motion == "slide":
        travel = slide_amp * triangle(slide_phase + t * slide_speed * np.pi / (2 * slide_amp))
        x, y = base[0] + travel * np.cos(slide_dir), base[1] + travel * np.sin(slide_dir)
    elif motion == "orbit":
        phase = orbit_phase + orbit_sign * t * orbit_speed / orbit_amp
        x, y = base[0] + orbit_amp * np.cos(phase), base[1] + orbit_amp * np.sin(phase)
    return Trajectory(np.stack([x, y], axis=1), log_scale, angle)
