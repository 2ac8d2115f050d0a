"""The demo's closing lines: this run against the recorded runs kept beside the docs.

A demo's figures move with the CPU (oneDNN picks kernels by CPU, and a few thousand SGD steps
amplify the difference), so the recorded runs are a range over seeds on a named machine, and
this run is judged by whether each row falls inside it. When this run's seed was recorded, the
rows are also compared with that run: on the recorded machine they should be identical.

    python -m results.demo_compare --out out/demo --seed 0 [--recorded docs/demo_results.json]
"""
from __future__ import annotations

import argparse
import json
import os

from tfx_models import cli

RECORDED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "demo_results.json")
CLIENT_FILE = "client.json"
# Recorded accuracies keep 6 decimals: closer than this is the same figure (one video in 100,000).
TOLERANCE = 1e-5


def read_run(out: str) -> dict:
    """{"rows": {label: accuracy}, "client": {model: [right, of]}} of one finished demo in `out`."""
    with open(os.path.join(out, "eval", "results.json")) as f:
        rows = {label: row["mean_accuracy"] for label, row in json.load(f)["rows"].items()}
    with open(os.path.join(out, CLIENT_FILE)) as f:
        client = {model: list(count) for model, count in json.load(f).items()}
    return {"rows": rows, "client": client}


def _figures(run: dict) -> dict[str, tuple[float, str]]:
    """Every row of a run as label -> (value for comparing, text): accuracies and client counts."""
    figures = {label: (accuracy, f"{100 * accuracy:.1f}%") for label, accuracy in run["rows"].items()}
    for model, (right, of) in run["client"].items():
        figures[f"gRPC client, {model}"] = (right / of, f"{right} of {of}")
    return figures


def compare(run: dict, seed: int, recorded: dict) -> list[str]:
    """The closing lines: a table of this run beside the recorded range, then the verdicts."""
    seeds = sorted(recorded["seeds"], key=int)
    runs = [_figures(recorded["seeds"][s]) for s in seeds]
    this = _figures(run)
    lines = [f"This run (seed {seed}) against the recorded runs (seeds {', '.join(seeds)} on "
             f"{recorded['machine']}; {recorded.get('command', 'results/demo_seeds.sh')}):",
             f"  {'row':<58s} {'this run':>10s}   recorded range"]
    outside = []
    for label, (value, text) in this.items():
        known = [r[label] for r in runs if label in r]
        if not known:
            lines.append(f"  {label:<58s} {text:>10s}   (not recorded)")
            outside.append(label)
            continue
        low, high = min(known), max(known)
        recorded_range = low[1] if low[1] == high[1] else f"{low[1]} to {high[1]}"
        lines.append(f"  {label:<58s} {text:>10s}   {recorded_range}")
        if not low[0] - TOLERANCE <= value <= high[0] + TOLERANCE:
            outside.append(label)
    if outside:
        lines.append(f"  Outside the recorded range: {', '.join(outside)}.")
    else:
        lines.append("  Every row falls inside the recorded range.")
    if str(seed) in recorded["seeds"]:
        same = _figures(recorded["seeds"][str(seed)])
        differ = [f"{label} ({text} against {same[label][1]})" for label, (value, text) in this.items()
                  if label in same and abs(value - same[label][0]) > TOLERANCE]
        if differ:
            lines.append(f"  Seed {seed}'s recorded run differs on {'; '.join(differ)}. On another CPU that is "
                         "expected (oneDNN picks kernels by CPU); on the recorded machine it is not.")
        else:
            lines.append(f"  Every row equals seed {seed}'s recorded run.")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m results.demo_compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the finished demo's OUT")
    parser.add_argument("--seed", type=int, required=True, help="the demo's DEMO_SEED")
    parser.add_argument("--recorded", default=RECORDED, help="recorded runs (default: docs/demo_results.json)")
    args = cli.add_flags(parser).parse_args(argv)
    run = read_run(args.out)
    if args.recorded == RECORDED and not os.path.exists(RECORDED):
        print(f"No recorded runs to compare with yet ({RECORDED}: results/demo_seeds.sh with RECORD= writes it).")
        return 0
    with open(args.recorded) as f:
        recorded = json.load(f)
    print("\n".join(compare(run, args.seed, recorded)))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
