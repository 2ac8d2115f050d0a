"""Optical flow behind one interface: TV-L1, Farneback and DIS presets.

Estimators hold OpenCV objects, so build one per worker (Beam DoFn.setup) and
reuse it for every frame pair.
"""
from __future__ import annotations

import cv2
import numpy as np

ALGORITHMS = ("tvl1", "farneback", "dis_ultrafast", "dis_fast", "dis_medium")
# Short names accepted on command lines.
ALIASES = {"dis": "dis_fast"}


def canonical_algorithm(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in ALGORITHMS:
        raise ValueError(f"unknown flow algorithm {name!r}; choose from {ALGORITHMS + tuple(ALIASES)}")
    return name


def to_gray(frame: np.ndarray) -> np.ndarray:
    """RGB uint8 [H,W,3] -> C-contiguous gray uint8 [H,W] (DIS needs contiguous input)."""
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))


class FlowEstimator:
    """Dense flow from `prev` to `next`: prev(y, x) ~ next(y + v, x + u)."""

    def __init__(self, algorithm: str = "dis_medium"):
        self.algorithm = canonical_algorithm(algorithm)
        self._impl = None
        self._dis_preset = None
        if self.algorithm == "tvl1":
            self._impl = cv2.optflow.DualTVL1OpticalFlow_create()
        elif self.algorithm.startswith("dis_"):
            self._dis_preset = {
                "dis_ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                "dis_fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                "dis_medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
            }[self.algorithm]

    def __call__(self, prev_gray: np.ndarray, next_gray: np.ndarray) -> np.ndarray:
        prev_gray, next_gray = to_gray(prev_gray), to_gray(next_gray)
        if self._dis_preset is not None:
            # A reused DIS object carries state between calls (its result for a pair
            # changes with the pairs it saw before), which would make records depend
            # on worker scheduling. A fresh one costs ~10 us against ~1-10 ms of flow.
            flow = cv2.DISOpticalFlow_create(self._dis_preset).calc(prev_gray, next_gray, None)
        elif self._impl is None:
            flow = cv2.calcOpticalFlowFarneback(prev_gray, next_gray, None,
                                                0.5, 3, 15, 3, 5, 1.2, 0)
        else:
            flow = self._impl.calc(prev_gray, next_gray, None)
        return np.asarray(flow, dtype=np.float32)


def compute_flows(frames: np.ndarray, estimator: FlowEstimator,
                  backward: bool = False) -> np.ndarray:
    """Flow for each consecutive pair of [T,H,W,3] frames -> float32 [T-1,H,W,2].

    Forward field t maps frame t to t+1; backward field t maps frame t+1 to t.
    """
    if len(frames) < 2:
        raise ValueError(f"need at least 2 frames for flow, got {len(frames)}")
    gray = [to_gray(f) for f in frames]
    if backward:
        pairs = zip(gray[1:], gray[:-1])
    else:
        pairs = zip(gray[:-1], gray[1:])
    return np.stack([estimator(a, b) for a, b in pairs])


def end_point_error(flow: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean Euclidean distance between two flow fields (the Sintel/FlyingChairs EPE)."""
    err = np.linalg.norm(np.asarray(flow, np.float32) - np.asarray(truth, np.float32), axis=-1)
    if mask is not None:
        err = err[mask]
    return float(err.mean())


def flow_to_rgb(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """HSV colouring of a [H,W,2] field: hue = direction, value = magnitude."""
    u, v = flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32)
    magnitude, angle = cv2.cartToPolar(u, v, angleInDegrees=True)
    scale = max_magnitude or max(float(magnitude.max()), 1e-6)
    hsv = np.zeros(flow.shape[:2] + (3,), np.uint8)
    hsv[..., 0] = (angle / 2).astype(np.uint8)
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(magnitude / scale * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
