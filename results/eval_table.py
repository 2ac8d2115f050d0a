"""The command line of a table built from one folder of evaluations: build it, keep its rows
beside the evaluations as table.json, print the markdown."""
from __future__ import annotations

import argparse
import json
import os
from typing import Callable

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)


def main(table: Callable[[str], tuple[str, dict]], module: str, doc: str, script: str, argv=None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.split("\n\n")[0])
    parser.add_argument("--eval", required=True, help=f"OUT/eval of {script}")
    args = cli.add_flags(parser).parse_args(argv)
    markdown, rows = table(args.eval)
    with open(os.path.join(args.eval, "table.json"), "w") as f:
        json.dump(rows, f, indent=2, sort_keys=True)
    print(markdown)
