"""The ingest job's wall time on the local runner and on the portable runner (Prism +
SDK worker pool on loopback), on the same data, runs alternating, and whether their
shards are byte-identical.

    python -m benchmarks.runner_benchmark --data out/flink_bench/synth --out out/flink_bench/runners.json

Wall time is the job's own `elapsed_s` (pipeline construction to completion, including
the workers' start-up); the cluster's start-up is timed apart.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import time

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

from beam_pipelines import ingest, prism_cluster


def ingest_args(data: str, output: str, size: int) -> list[str]:
    return ["--format", "ucf101", "--root", f"{data}/ucf101", "--split", "1", "--output", output,
            "--flow", "dis", "--bidirectional", "--size", str(size), "--num_shards", "2"]


def identical_shards(left: str, right: str) -> bool:
    names = sorted(n for n in os.listdir(left) if n.endswith((".tfrecord", ".jsonl")))
    return names == sorted(n for n in os.listdir(right) if n.endswith((".tfrecord", ".jsonl"))) and all(
        filecmp.cmp(f"{left}/{n}", f"{right}/{n}", shallow=False) for n in names)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="beam_pipelines.synth output folder")
    parser.add_argument("--out", required=True, help="JSON results file")
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--repeats", type=int, default=1)
    args = cli.add_flags(parser).parse_args(argv)
    work = os.path.splitext(args.out)[0]
    started = time.monotonic()
    with prism_cluster.running(f"{work}/prism") as cluster:
        startup = time.monotonic() - started
        runs = []
        for repeat in range(args.repeats):
            for name, flags in (("local", []), ("portable", cluster.pipeline_flags())):
                output = f"{work}/{name}-{repeat}"
                summary = ingest.run(ingest_args(args.data, output, args.size) + flags)
                runs.append({"runner": name, "repeat": repeat, "elapsed_s": summary["elapsed_s"],
                             "frames": summary["frames"], "written": summary["written"],
                             "dead_lettered": summary["dead_lettered"], "output": output})
    result = {"args": vars(args), "cluster_startup_s": round(startup, 2), "runs": runs,
              "byte_identical": all(identical_shards(f"{work}/local-{r}", f"{work}/portable-{r}")
                                    for r in range(args.repeats))}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
