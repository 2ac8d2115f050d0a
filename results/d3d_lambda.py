"""D3D's lambda chosen without the test videos: the weight whose cross-fitted run scores best on the
training groups it never sampled.

    python -m results.d3d_lambda --run 0.1=RUN --run 1=RUN ... --out OUT/lambda.json

Each RUN is a D3D run trained with data.folds=3 (one fold of the training groups held out) and
scored there by python -m tfx_models.validate. The weight of the best accuracy at the runs' last
step is chosen; a tie goes to the smaller weight (the gentler pull towards the teacher).
"""
from __future__ import annotations

import argparse
import json
import os

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)
from tfx_models.evaluation.validation import VALIDATION_FILE


def last_point(run_dir: str) -> dict:
    path = os.path.join(run_dir, VALIDATION_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: not validated; run python -m tfx_models.validate --run {run_dir}")
    with open(path) as f:
        return json.load(f)["curve"][-1]


def choose(accuracy: dict[float, float]) -> float:
    """The weight with the best held-out accuracy, the smaller one on a tie."""
    best = max(accuracy.values())
    return min(w for w, a in accuracy.items() if a == best)


def parse_run(text: str) -> tuple[float, str]:
    weight, sep, run_dir = text.partition("=")
    try:
        if sep and run_dir:
            return float(weight), run_dir
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"--run {text!r}: expected WEIGHT=RUN_DIR")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m results.d3d_lambda", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=parse_run, action="append", required=True, metavar="WEIGHT=RUN_DIR")
    parser.add_argument("--out", required=True, help="the choice and every weight's held-out score (json)")
    args = cli.add_flags(parser).parse_args(argv)
    points = {weight: last_point(run_dir) for weight, run_dir in args.run}
    steps = {p["step"] for p in points.values()}
    if len(steps) != 1:
        raise ValueError(f"the runs were validated at different last steps {sorted(steps)}; train them equally")
    weight = choose({w: p["accuracy"] for w, p in points.items()})
    result = {"weight": weight, "step": steps.pop(), "videos": points[weight]["videos"],
              "held_out": {f"{w:g}": {"accuracy": p["accuracy"], "loss": p["loss"]} for w, p in points.items()}}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
