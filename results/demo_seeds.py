"""The demo on several benchmark seeds, as one table: each row's accuracy, ceiling and share of
the ceiling per seed, the wall time, and how many of the gRPC client's held-out videos (one a
class) each served model got right.

    python -m results.demo_seeds --out out/demo_seeds     # after results/demo_seeds.sh
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

COUNT = re.compile(r"^\s*(\d+) of (\d+) held-out videos")


def read_seed(seed_dir: str) -> dict:
    """{rows: {label: summary}, seconds, client: [(right, of) per served model]} of one seed's demo."""
    with open(os.path.join(seed_dir, "eval", "results.json")) as f:
        rows = json.load(f)["rows"]   # one split: the mean is that split's figure
    with open(os.path.join(seed_dir, "seconds")) as f:
        seconds = int(f.read())
    with open(os.path.join(seed_dir, "demo.log")) as f:
        client = [tuple(map(int, m.groups())) for m in map(COUNT.match, f) if m]
    return {"rows": rows, "seconds": seconds, "client": client}


def markdown(seeds: dict[int, dict]) -> str:
    order = sorted(seeds)
    labels = list(seeds[order[0]]["rows"])
    header = ["row"] + [f"seed {s}" for s in order] + ["mean", "ceiling", "mean share"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label in labels:
        rows = [seeds[s]["rows"][label] for s in order]
        accuracy = [r["mean_accuracy"] for r in rows]
        ceilings = {r.get("mean_ceiling") for r in rows}
        ceiling = ceilings.pop() if len(ceilings) == 1 else None
        shares = [r["mean_share_of_ceiling"] for r in rows if "mean_share_of_ceiling" in r]
        cells = [f"{100 * a:.1f}%" for a in accuracy] + [f"{100 * sum(accuracy) / len(accuracy):.1f}%"]
        cells += [f"{100 * ceiling:.1f}%" if ceiling else "-",
                  f"{100 * sum(shares) / len(shares):.1f}%" if len(shares) == len(rows) else "-"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| wall time | " + " | ".join(f"{seeds[s]['seconds']} s" for s in order) + " | | | |")
    for i, model in enumerate(("two-stream", "conv fusion")):
        counts = [seeds[s]["client"][i] if i < len(seeds[s]["client"]) else None for s in order]
        lines.append(f"| gRPC client, {model} | " + " | ".join(f"{c[0]} of {c[1]}" if c else "-" for c in counts)
                     + " | | | |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.demo_seeds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the OUT of results/demo_seeds.sh")
    args = cli.add_flags(parser).parse_args(argv)
    seeds = {int(os.path.basename(d)[len("seed"):]): read_seed(d)
             for d in sorted(glob.glob(os.path.join(args.out, "seed*"))) if os.path.exists(os.path.join(d, "seconds"))}
    if not seeds:
        raise FileNotFoundError(f"{args.out}: no finished demo (run results/demo_seeds.sh)")
    text = markdown(seeds)
    with open(os.path.join(args.out, "demo_seeds.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
