"""Pictures for people: a labelled contact sheet and ground-truth flow strips."""
from __future__ import annotations

import cv2
import numpy as np

from beam_pipelines.storage import BEAM
from media.flow import flow_to_rgb
from media.storage import write_bytes

LABEL_WIDTH = 150


def _label_panel(text: str, height: int, lines: tuple[str, ...] = ()) -> np.ndarray:
    panel = np.full((height, LABEL_WIDTH, 3), 255, np.uint8)
    for row, line in enumerate((text,) + lines):
        cv2.putText(panel, line, (4, 16 + 14 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.4 if row else 0.45,
                    (0, 0, 0) if row == 0 else (90, 90, 90), 1, cv2.LINE_AA)
    return panel


def _pick(count: int, total: int) -> list[int]:
    return [int(round(i)) for i in np.linspace(0, total - 1, count)]


def contact_sheet(rows: list[tuple[str, tuple[str, ...], np.ndarray]], frames_per_row: int = 5) -> np.ndarray:
    """One row per class: a label panel and evenly spaced frames. Rows are (label, notes, frames)."""
    strips = []
    for label, notes, frames in rows:
        chosen = [frames[i] for i in _pick(frames_per_row, len(frames))]
        strips.append(np.concatenate([_label_panel(label, frames.shape[1], notes)] + chosen, axis=1))
    return np.concatenate(strips, axis=0)


def flow_strip(frames: np.ndarray, flow: np.ndarray, valid: np.ndarray, bound: float, columns: int = 5) -> np.ndarray:
    """Frames on top, their forward ground-truth flow below (black where invalid)."""
    steps = _pick(columns, len(flow))
    top = np.concatenate([frames[i] for i in steps], axis=1)
    bottom = np.concatenate([flow_to_rgb(flow[i] * valid[i][..., None], bound) for i in steps], axis=1)
    return np.concatenate([top, bottom], axis=0)


def save_png(path: str, rgb: np.ndarray) -> None:
    """Encode in memory and store through Beam's FileSystems (a local folder or a bucket)."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{path}: could not encode a {rgb.shape} picture as PNG")
    write_bytes(BEAM, path, data.tobytes())
