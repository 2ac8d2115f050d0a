"""What checking a record set costs: the start-of-run size check, data.verify and the verifier.

    python -m benchmarks.verify_benchmark --records out/verify_cost/records/ucf101-s1 --repeats 3

Rows: sizes against dataset_info.json (what training and evaluation do on every start), and
every shard read whole (CRC32C, then each record's framing and CRCs), once through TensorFlow's
filesystem (data.verify=true) and once through Beam's (`python -m beam_pipelines.verify`). Each
row is the median of `--repeats` runs; `--cold` drops the page cache before each (root only),
so the reads come from the disk, as on a first start.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

from beam_pipelines.storage import BEAM
from media.shards import read_dataset_info, shard_problems, verify_published


def drop_page_cache() -> None:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(check, repeats: int, cold: bool) -> float:
    seconds = []
    for _ in range(repeats):
        if cold:
            drop_page_cache()
        start = time.perf_counter()
        check()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.verify_benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", required=True, help="a published record set")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="drop the page cache before each run (root)")
    parser.add_argument("--out", help="also write the rows as JSON here")
    cli.add_flags(parser)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {args.repeats}")
    info = read_dataset_info(args.records)
    size = sum(s["bytes"] for s in info["shards"].values())
    rows = {
        "sizes (every start)": lambda: verify_published(args.records, info),
        "data.verify=true (tf.io.gfile)": lambda: shard_problems(args.records, info),
        "beam_pipelines.verify (Beam FileSystems)": lambda: shard_problems(args.records, info, BEAM),
    }
    results = {"records": args.records, "shards": len(info["shards"]), "bytes": size, "cold": args.cold,
               "cpus": os.cpu_count(), "rows": {}}
    print(f"{args.records}: {len(info['shards'])} shards, {size / 1e6:.1f} MB, "
          f"{'cold' if args.cold else 'warm'} page cache, median of {args.repeats}")
    print("| check | seconds | MB/s |\n|---|---|---|")
    for name, check in rows.items():
        seconds = timed(check, args.repeats, args.cold)
        results["rows"][name] = {"seconds": round(seconds, 4), "mb_per_s": round(size / 1e6 / seconds, 1)}
        print(f"| {name} | {seconds:.3f} | {size / 1e6 / seconds:.0f} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
