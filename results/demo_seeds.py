"""The demo on several benchmark seeds, as one table: each row's accuracy, ceiling and share of
the ceiling per seed, the wall time, and how many of the gRPC client's held-out videos (one a
class) each served model got right. --record keeps the runs, with the machine they ran on,
as the range `make demo` compares itself with (results.demo_compare).

    python -m results.demo_seeds --out out/demo_seeds [--record docs/demo_results.json]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import platform

from results.demo_compare import CLIENT_FILE
from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

CPU_FEATURES = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")  # what decides oneDNN's kernels


def read_seed(seed_dir: str) -> dict:
    """{rows: {label: summary}, seconds, client: {model: [right, of]}} of one seed's demo."""
    with open(os.path.join(seed_dir, "eval", "results.json")) as f:
        rows = json.load(f)["rows"]   # one split: the mean is that split's figure
    with open(os.path.join(seed_dir, "seconds")) as f:
        seconds = int(f.read())
    with open(os.path.join(seed_dir, CLIENT_FILE)) as f:
        client = json.load(f)
    return {"rows": rows, "seconds": seconds, "client": client}


def machine() -> str:
    """This machine as the record names it: CPU model, cores, and the vector features oneDNN uses."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    features = [f for f in CPU_FEATURES if f in flags]
    return f"{model}, {os.cpu_count()} cores" + (f", {' '.join(features)}" if features else "")


def record(seeds: dict[int, dict], command: str) -> dict:
    """What docs/demo_results.json keeps: each seed's accuracies, client counts and wall time."""
    return {"command": command, "machine": machine(),
            "seeds": {str(s): {"rows": {label: round(row["mean_accuracy"], 6) for label, row in run["rows"].items()},
                               "client": run["client"], "seconds": run["seconds"]}
                      for s, run in sorted(seeds.items())}}


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
    models = list(dict.fromkeys(model for s in order for model in seeds[s]["client"]))
    for model in models:
        counts = [seeds[s]["client"].get(model) for s in order]
        lines.append(f"| gRPC client, {model} | " + " | ".join(f"{c[0]} of {c[1]}" if c else "-" for c in counts)
                     + " | | | |")
    return "\n".join(lines) + "\n"


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _span(values, cell=str) -> str:
    """The values as "low to high" cells (one cell when they agree)."""
    low, high = min(values), max(values)
    return cell(low) if low == high else f"{cell(low)} to {cell(high)}"


def range_markdown(seeds: dict[int, dict]) -> str:
    """The README's table: each row's range over the seeds (lowest to highest), its ceiling and
    share of it, the client's counts and the wall time."""
    order = sorted(seeds)
    lines = [f"| row | seeds {', '.join(map(str, order))} | ceiling | share of ceiling |", "|---|---|---|---|"]
    for label in seeds[order[0]]["rows"]:
        rows = [seeds[s]["rows"][label] for s in order]
        ceiling = rows[0].get("mean_ceiling")
        shares = [r["mean_share_of_ceiling"] for r in rows if "mean_share_of_ceiling" in r]
        lines.append(f"| {label} | {_span([r['mean_accuracy'] for r in rows], _percent)} | "
                     f"{_percent(ceiling) if ceiling else '-'} | {_span(shares, _percent) if shares else '-'} |")
    models = list(dict.fromkeys(model for s in order for model in seeds[s]["client"]))
    for model in models:
        counts = [seeds[s]["client"][model] for s in order if model in seeds[s]["client"]]
        lines.append(f"| gRPC client, {model} | {_span([c[0] for c in counts])} of {counts[0][1]} | | |")
    lines.append(f"| wall time | {_span([seeds[s]['seconds'] for s in order])} s | | |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.demo_seeds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the OUT of results/demo_seeds.sh")
    parser.add_argument("--record", metavar="JSON",
                        help="also keep the runs and this machine's name there (docs/demo_results.json)")
    args = cli.add_flags(parser).parse_args(argv)
    seeds = {int(os.path.basename(d)[len("seed"):]): read_seed(d)
             for d in sorted(glob.glob(os.path.join(args.out, "seed*"))) if os.path.exists(os.path.join(d, "seconds"))}
    if not seeds:
        raise FileNotFoundError(f"{args.out}: no finished demo (run results/demo_seeds.sh)")
    text = markdown(seeds)
    with open(os.path.join(args.out, "demo_seeds.md"), "w") as f:
        f.write(text)
    print(text)
    ranges = range_markdown(seeds)
    with open(os.path.join(args.out, "demo_range.md"), "w") as f:
        f.write(ranges)
    print(ranges)
    if args.record:
        with open(args.record, "w") as f:
            json.dump(record(seeds, f"OUT={args.out} RECORD={args.record} results/demo_seeds.sh"), f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
