"""The paper's decoded-flow figure: per held-out clip, a frame, the true flow, the stored flow and each
probe's decoded flow, coloured as media.flow.flow_to_rgb does (hue = direction, value = magnitude).

    python -m results.flow_probe_picture --probe "S3D-G=OUT1" --probe "D3D=OUT2" --clips 4 --out PNG

OUTk are results.flow_probe output dirs of the same test clips (same records, run settings and
--clips). One scale per row, the true flow's largest valid magnitude, so the colours compare.
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np

from media.flow import flow_to_rgb

CELL = 96  # pixels per picture cell


def cell(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image.astype(np.uint8), (CELL, CELL), interpolation=cv2.INTER_NEAREST)


def picture(probes: dict[str, dict], clips: int, step: int = 0) -> np.ndarray:
    """Rows: clips; columns: frame, true, stored, then one decoded column per probe."""
    first = next(iter(probes.values()))
    rows = []
    for i in range(min(clips, len(first["stored"]))):
        true = first["true"][i, step] if "true" in first else first["stored"][i, step]
        valid = first["valid"][i, step] if "valid" in first else np.ones(true.shape[:2], bool)
        scale = max(float(np.linalg.norm(true, axis=-1)[valid].max(initial=0.0)), 1e-3)
        columns = [cell(first["frames"][i, step]), cell(flow_to_rgb(true, scale) * valid[..., None]),
                   cell(flow_to_rgb(first["stored"][i, step], scale))]
        columns += [cell(flow_to_rgb(p["decoded"][i, step], scale)) for p in probes.values()]
        rows.append(np.concatenate(columns, 1))
    return np.concatenate(rows, 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--probe", action="append", required=True, help="LABEL=flow_probe output dir")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    probes = {}
    for item in args.probe:
        label, path = item.split("=", 1)
        with np.load(f"{path}/examples.npz") as npz:
            probes[label] = dict(npz)
    image = picture(probes, args.clips)
    cv2.imwrite(args.out, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    print(f"{args.out}: columns frame, true flow, stored flow, " + ", ".join(f"decoded ({k})" for k in probes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
