"""docs/d3d.md's decoder table from results.flow_probe outputs: one row per probe, beside the EPE of
predicting no motion, which is the floor a decoder must beat to show that the layer holds motion.

    python -m results.flow_probe_table --probe "S3D-G student=OUT1" --probe "D3D (MSE)=OUT2" --out MD
"""
from __future__ import annotations

import argparse
import json
import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

HEADER = ["layer (grid)", "backbone", "decoder, steps", "pan", "run", "train / test clips", "EPE vs stored",
          "zero vs stored", "EPE vs true", "zero vs true", "below zero flow (true)"]


def read_probe(folder: str) -> dict:
    path = os.path.join(folder, "probe.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no probe here; run python -m results.flow_probe --out {folder}")
    with open(path) as f:
        return json.load(f)


def row(label: str, probe: dict) -> list[str]:
    """One table row; the last cell is how far the decoder's error falls below zero flow's, in percent
    of zero flow's (positive: the decoder reads some motion out of the layer)."""
    frames, *grid = probe["grid"]
    cells = [f"{probe['layer']} ({frames} x {grid[0]} x {grid[1]})", probe["backbone"],
             f"{probe['design']}, {probe['steps']}", probe.get("pan", "keep"), label,
             f"{probe['train_clips']} / {probe['test_clips']}",
             f"{probe['epe_stored']:.4f}", f"{probe['epe_stored_zero_flow']:.4f}"]
    if "epe_true" in probe:
        gain = 1 - probe["epe_true"] / probe["epe_true_zero_flow"]
        cells += [f"{probe['epe_true']:.4f}", f"{probe['epe_true_zero_flow']:.4f}", f"{100 * gain:+.1f}%"]
    else:
        cells += ["-", "-", "-"]
    return cells


def markdown(probes: list[tuple[str, dict]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row(label, probe)) + " |" for label, probe in probes]
    return "\n".join(lines) + "\n"


def parse_probe(text: str) -> tuple[str, str]:
    label, sep, folder = text.partition("=")
    if not sep or not label or not folder:
        raise argparse.ArgumentTypeError(f"--probe {text!r}: expected LABEL=FOLDER")
    return label, folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m results.flow_probe_table", description=__doc__.split("\n\n")[0])
    parser.add_argument("--probe", type=parse_probe, action="append", required=True, metavar="LABEL=FOLDER",
                        help="a results.flow_probe output folder and the run's name in the table (in order)")
    parser.add_argument("--out", help="write the markdown here too")
    args = cli.add_flags(parser).parse_args(argv)
    text = markdown([(label, read_probe(folder)) for label, folder in args.probe])
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
