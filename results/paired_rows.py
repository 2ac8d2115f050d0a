"""Two rows of `tfx_models.evaluate` outputs compared on the same test videos, paired.

    python -m results.paired_rows --a out/rp/eval/s1/bf16_25x1/ucf101_split_1 "Temporal: ..." \
        --b out/rp/eval/s1/bf16_25x1/ucf101_split_1 "Temporal: ... [t_bf16_4800]" [--claim "a ~ b"]

Prints the difference with its 95% interval, the exact McNemar p and the verdict
(tfx_models.evaluation.paired), for a comparison that is not one of the papers' findings.
"""
from __future__ import annotations

import argparse
import json

from results.findings_table import Finding, Row, measure


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m results.paired_rows", description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", nargs=2, required=True, metavar=("SPLIT_DIR", "LABEL"))
    parser.add_argument("--b", nargs=2, required=True, metavar=("SPLIT_DIR", "LABEL"))
    parser.add_argument("--claim", default="a ~ b", choices=("a > b", "a >= b", "a ~ b"))
    parser.add_argument("--cue", default="", help="only the classes of one cue group, e.g. 'motion only'")
    args = parser.parse_args(argv)
    finding = Finding("", "", args.claim, Row(args.a[0], args.a[1], "a"), Row(args.b[0], args.b[1], "b"), "",
                      cue=args.cue)
    result = measure("", finding)
    if result is None:
        raise SystemExit(f"no video_scores.npz in {args.a[0]} or {args.b[0]}")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
