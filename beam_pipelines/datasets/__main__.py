"""Check a dataset index before a long ingest: counts per subset and class.

    python -m beam_pipelines.datasets --format ucf101 --root /data/ucf101 --split 1
"""
from __future__ import annotations

import argparse
import json
from collections import Counter

from beam_pipelines.datasets import FORMATS, DatasetError, load_class_names, load_entries


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beam_pipelines.datasets", description=__doc__.splitlines()[0])
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--root", help="folder the UCF-101 / HMDB-51 archives unpacked into (or gs://...)")
    parser.add_argument("--manifest", help="CSV manifest for --format csv")
    parser.add_argument("--split", type=int, default=1, choices=(1, 2, 3))
    parser.add_argument("--list", action="store_true", help="print every entry as a JSON line")
    args = parser.parse_args(argv)
    try:
        names = load_class_names(args.format, root=args.root, manifest=args.manifest)
        entries = load_entries(args.format, split=args.split, root=args.root, manifest=args.manifest)
    except (DatasetError, ValueError) as err:
        parser.exit(2, f"error: {err}\n")
    if args.list:
        for entry in entries:
            print(json.dumps(entry.to_dict()))
        return 0
    per_class = Counter((entry.label_name, entry.subset) for entry in entries)
    subsets = Counter(entry.subset for entry in entries)
    print(f"{args.format} split {args.split}: {len(names)} classes, {subsets['train']} train, "
          f"{subsets['test']} test, {len({entry.group for entry in entries})} groups")
    for name in names:
        print(f"  {name:30s} train {per_class[name, 'train']:5d}  test {per_class[name, 'test']:5d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
