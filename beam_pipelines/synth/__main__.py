"""Render the synthetic action benchmark.

    python -m beam_pipelines.synth --out out/synth --seed 0 --profile small [--multiview]
    python -m beam_pipelines.synth --out gs://bucket/synth --profile small    # any Beam filesystem
    python -m beam_pipelines.synth --out out/synth --profile small --pretrain 40   # only <out>/pretrain/
    python -m beam_pipelines.synth --classes     # the class table as markdown
    python -m beam_pipelines.synth --ceilings    # every model family's ceiling on every set
"""
from __future__ import annotations

import argparse
import json
import sys

from beam_pipelines.storage import absolute, check_writable, join
from beam_pipelines.synth.classes import classes_of, cue_markdown_table, cue_table, markdown_table
from beam_pipelines.synth.generate import generate
from beam_pipelines.synth.pretrain import generate_pretrain
from beam_pipelines.synth.render import PROFILES
from media import ceilings


def ceilings_markdown() -> str:
    """Each family's ceiling (media.ceilings.FAMILIES) on each set, equal test videos per class, and
    on the "wherewhen" set's where and when classes alone."""
    tables = {name: cue_table(name) for name in ("ucf101", "hmdb51", "wherewhen")}
    for group in ("where", "when"):
        whole = tables["wherewhen"]
        tables[f"{group} classes"] = {**whole, "classes": {name: entry for name, entry in whole["classes"].items()
                                                           if entry["cue_group"] == group}}
    return ceilings.markdown(tables)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beam_pipelines.synth",
                                     description="Render the synthetic two-stream action benchmark "
                                                 "(UCF-101-like and HMDB-51-like layouts, true flow).")
    parser.add_argument("--out", help="output folder or bucket prefix (gs://, s3://; created)")
    parser.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="small",
                        help="tiny: tests, seconds; small: quick scripts and benchmarks; demo: make demo; results: the findings; wherewhen*: the where/when classes; full: 240x320")
    parser.add_argument("--multiview", action="store_true",
                        help="also render every UCF-like clip from a second camera into <out>/multiview")
    parser.add_argument("--pretrain", type=int, default=0, metavar="N",
                        help="render only the spatial net's pre-training set instead: N appearance classes, "
                             "none a benchmark object, into <out>/pretrain/ (pretrain.csv, pretrain.json)")
    parser.add_argument("--pretrain_clips", type=int, default=8, help="clips per pre-training class (default 8)")
    parser.add_argument("--processes", type=int, default=2, help="rendering processes (default 2)")
    parser.add_argument("--classes", action="store_true", help="print the class tables (markdown) and exit")
    parser.add_argument("--ceilings", action="store_true",
                        help="print every model family's ceiling on every set (markdown) and exit")
    args = parser.parse_args(argv)
    if args.classes:
        print(markdown_table())
        print()
        print(cue_markdown_table())
        return 0
    if args.ceilings:
        print(ceilings_markdown())
        return 0
    if not args.out:
        parser.error("--out is required (unless --classes)")
    if args.seed < 0:
        parser.error("--seed must be >= 0")
    if args.processes < 1:
        parser.error("--processes must be >= 1")
    try:
        check_writable(join(args.out, ".write-check"))
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.pretrain:
        try:
            info = generate_pretrain(args.out, args.seed, args.profile, args.pretrain, args.pretrain_clips,
                                     args.processes)
        except ValueError as err:
            parser.error(str(err))
        print(json.dumps({key: info[key] for key in ("manifest", "classes", "videos", "nearest", "timing")}))
        return 0
    benchmark = generate(args.out, args.seed, args.profile, args.multiview, args.processes)
    counts = {name: info["videos"] for name, info in benchmark["datasets"].items()}
    print(json.dumps({"out": absolute(args.out), "videos": counts, "timing": benchmark["timing"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
