"""The paper's decoded-flow figure: per held-out clip, a frame, the true flow, the stored flow and each
probe's decoded flow, coloured as media.flow.flow_to_rgb does (HSV: hue = direction, value = magnitude).

    python -m results.flow_probe_picture --probe "plain student=OUT1" --probe "D3D=OUT2" --clips 4 --out PNG

OUTk are results.flow_probe output dirs of the same test clips (same records, run settings and
--clips). One scale per row, the true flow's largest valid magnitude, so the colours compare.
Each column has a title (a probe's column is "LABEL decoded") and a caption under the grid says how
to read the colours, so the picture stands without its page.
"""
from __future__ import annotations

import argparse

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import cv2
import numpy as np

from media.flow import flow_to_rgb
from results.flow_probe_table import parse_probe

CELL = 96  # pixels per picture cell
LINE = 14  # pixels per line of text
CAPTION = ("Colour: HSV, hue = direction, value (brightness) = magnitude, one scale per row "
           "(the true flow's largest). Black in the true flow: invalid (occluded).")


def cell(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image.astype(np.uint8), (CELL, CELL), interpolation=cv2.INTER_NEAREST)


def column_titles(labels, truth: bool = True) -> list[str]:
    """Without the benchmark's truth the second column repeats the stored flow, and says so."""
    second = "ground-truth flow" if truth else "stored flow (no truth)"
    return ["frame", second, "stored flow"] + [f"{label} decoded" for label in labels]


def wrap(text: str, width: int) -> list[str]:
    """Words of text in lines no wider than width pixels (a longer single word keeps its own line)."""
    lines = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(candidate, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)[0][0] <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def text_band(texts: list[str], width: int) -> np.ndarray:
    """A white band of len(texts) equal columns, each text wrapped in its column, black."""
    column = width // len(texts)
    wrapped = [wrap(text, column - 4) for text in texts]
    band = np.full((max(map(len, wrapped)) * LINE + 4, width, 3), 255, np.uint8)
    for i, lines in enumerate(wrapped):
        for row, line in enumerate(lines):
            cv2.putText(band, line, (i * column + 2, LINE * (row + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (0, 0, 0), 1, cv2.LINE_AA)
    return band


def picture(probes: dict[str, dict], clips: int, step: int = 0) -> np.ndarray:
    """Titles, then rows: clips; columns: frame, true, stored, then one decoded column per probe; caption."""
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
    grid = np.concatenate(rows, 0)
    titles = text_band(column_titles(probes, "true" in first), grid.shape[1])
    return np.concatenate([titles, grid, text_band([CAPTION], grid.shape[1])], 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--probe", type=parse_probe, action="append", required=True, metavar="LABEL=FOLDER",
                        help="a results.flow_probe output folder and its column's title")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--out", required=True)
    args = cli.add_flags(parser).parse_args(argv)
    probes = {}
    for label, path in args.probe:
        with np.load(f"{path}/examples.npz") as npz:
            probes[label] = dict(npz)
    image = picture(probes, args.clips)
    cv2.imwrite(args.out, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    print(f"{args.out}: columns " + ", ".join(column_titles(probes, "true" in next(iter(probes.values())))))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
