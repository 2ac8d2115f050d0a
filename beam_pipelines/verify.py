"""Check a published record set against its dataset_info.json: every shard there, whole and unaltered.

    python -m beam_pipelines.verify --records gs://B/records/ucf101-s1

Reads through Beam's FileSystems, as the jobs that wrote the set did (local, gs://, s3://).
Each shard is compared with what the job listed when it published it: its size, its CRC32C
and its record count; then its records are read one by one, so that damage is named by the
byte offset of the first damaged record. Prints one line per damaged shard and a summary;
exits 0 when the set is whole, 2 when a shard is missing, unlisted, short, long, altered or
unreadable. `--sizes_only` is the free check training makes on start (one listing).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from beam_pipelines.job import BAD_DATA, main
from beam_pipelines.storage import BEAM, absolute
from media.shards import read_dataset_info, shard_problems


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m beam_pipelines.verify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", required=True, help="a record set's folder (local, gs://, s3://)")
    parser.add_argument("--sizes_only", action="store_true",
                        help="compare sizes only (reads no shard): what training checks on start")
    return parser


def verify(records: str, *, sizes_only: bool = False) -> dict:
    """{"records", "shards", "bytes", "problems": [{"path", "kind", "detail"}], "seconds"}."""
    records = absolute(records).rstrip("/")
    start = time.monotonic()
    info = read_dataset_info(records, BEAM)
    problems = shard_problems(records, info, BEAM, checksums=not sizes_only, records=not sizes_only)
    listed = info.get("shards") or {}
    return {"records": records, "shards": len(listed), "bytes": sum(s.get("bytes", 0) for s in listed.values()),
            "checked": "sizes" if sizes_only else "sizes, CRC32C and every record",
            "problems": [{"path": p.path, "kind": p.kind, "detail": p.detail} for p in problems],
            "seconds": round(time.monotonic() - start, 3)}


def run(argv=None) -> int:
    args = build_parser().parse_args(argv)
    report = verify(args.records, sizes_only=args.sizes_only)
    for problem in report["problems"]:
        print(f"{problem['path']}: {problem['kind']}: {problem['detail']}")
    print(json.dumps({k: v for k, v in report.items() if k != "problems"} | {"damaged": len(report["problems"])},
                     sort_keys=True))
    return BAD_DATA if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main(run))
