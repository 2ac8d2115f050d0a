"""The ingest job on Beam's DaskRunner (a dask.distributed scheduler and 1 or 2 worker processes
on loopback) against the local runner with 1 and 2 workers, each as a share of the decode +
flow ceiling, and what the DaskRunner costs per element.

    python -m beam_pipelines.synth --out out/synth --seed 0 --profile small
    python -m benchmarks.dask_benchmark --data out/synth --out out/bench/dask-native.json --size 0
    python -m benchmarks.dask_benchmark --data out/synth --out out/bench/dask-256.json --size 256

Throughput is measured as benchmarks.ingest_benchmark measures the local runner's: the job's
frames/s in the steady state, its start-up cost differenced out with a 2-video run, the
fastest of --repeats runs.  A Dask cluster outlives its jobs, so its workers are warmed by
one untimed job first (a local runner starts its workers with every job).  The ceiling is
decode + resize + flow in one plain process; N workers are held to N times it.

Cost per element: a trivial job of the same shape (one Map per element, routed by value and
gathered for one final step, one element per Dask partition) over 20 and over 200
integers; the difference in wall time over the 180 extra elements is what the runner adds
for each element, whatever the element's own work.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)

import apache_beam as beam

from beam_pipelines import dask_cluster
from beam_pipelines.datasets import load_entries
from beam_pipelines.gather import GatherAll, tag_as, values_tagged
from beam_pipelines.options import pipeline_options, quiet_beam_logs
from benchmarks.ingest_benchmark import (
    DATASET, add_data_arguments, job_entries, local_flags, measure_decode_flow, measure_job, run_job,
    write_results)

SMALL, LARGE = 20, 200


def trivial_job_seconds(elements: int, beam_flags: list[str]) -> float:
    start = time.monotonic()
    with beam.Pipeline(options=pipeline_options(beam_flags)) as pipeline:
        _ = (pipeline
             | beam.Create(range(elements))
             | beam.Map(tag_as, "n")
             | beam.FlatMap(values_tagged, "n")
             | GatherAll()
             | beam.Map(len))
    return time.monotonic() - start


def per_element_ms(beam_flags: list[str]) -> float:
    trivial_job_seconds(SMALL, beam_flags)  # warm-up
    small = trivial_job_seconds(SMALL, beam_flags)
    large = trivial_job_seconds(LARGE, beam_flags)
    return 1000 * (large - small) / (LARGE - SMALL)


def measure_runners(entries, root: str, size: int, flow: str, repeats: int, work: str,
                    partition_size: int) -> dict:
    runs = {}
    for workers in (1, 2):
        runs[f"local-{workers}"] = measure_job(entries, root, local_flags(workers), size, flow, repeats)
        with dask_cluster.running(f"{work}/dask-{workers}", workers=workers) as cluster:
            flags = cluster.pipeline_flags() + [f"--dask_partition_size={partition_size}"]
            run_job(entries[:2], root, flags, size, flow)  # warm the workers: imports, first calls
            runs[f"dask-{workers}"] = measure_job(entries, root, flags, size, flow, repeats)
            if workers == 1:
                runs["dask-1"]["runner_ms_per_element"] = per_element_ms(flags)
    runs["local-1"]["runner_ms_per_element"] = per_element_ms(local_flags(1))
    return runs


def markdown(results: dict) -> str:
    ceiling = results["decode_flow"]["frames_per_s"]
    size = f"{results['size']} px" if results["size"] else "native size"
    lines = [f"| runner, workers ({results['job_clips']} clips, {results['flow']}, {size}, "
             f"{results['dask_partition_size']} per Dask partition) | steady frames/s | "
             f"share of N x ceiling ({ceiling:.0f} frames/s) | raw frames/s | start-up s | runner ms/element |",
             "|---|---|---|---|---|---|"]
    for name, run in results["runs"].items():
        workers = int(name.rsplit("-", 1)[1])
        per_element = run.get("runner_ms_per_element")
        lines.append(f"| {name} | {run['steady_frames_per_s']:.0f} | {run['steady_frames_per_s'] / (workers * ceiling):.0%} "
                     f"| {run['frames_per_s']:.0f} | {run['startup_s']:.1f} | "
                     f"{'' if per_element is None else f'{per_element:.1f}'} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--flow", default="dis_fast")
    parser.add_argument("--videos", type=int, default=60, help="clips per job run")
    parser.add_argument("--repeats", type=int, default=1, help="runs per measurement; the fastest counts")
    parser.add_argument("--dask_partition_size", type=int, default=1, help="videos per Dask partition")
    args = cli.add_flags(parser).parse_args(argv)
    quiet_beam_logs()
    root = f"{args.data.rstrip('/')}/{DATASET}"
    if not load_entries(DATASET, split=1, root=root):
        parser.error(f"{root}: no videos; render them with python -m beam_pipelines.synth --out {args.data}")
    results = {"data": args.data, "size": args.size, "flow": args.flow, "cpu_count": os.cpu_count(),
               "dask_partition_size": args.dask_partition_size,
               "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="dask_benchmark_") as work:
        entries = job_entries(root, args.videos, 1, work)
        results["job_clips"] = len(entries)
        results["decode_flow"] = measure_decode_flow([e.path for e in entries], args.size, args.flow, repeats=2)
        results["runs"] = measure_runners(entries, root, args.size, args.flow, args.repeats, work,
                                          args.dask_partition_size)
    return write_results(results, args.out, markdown)


if __name__ == "__main__":
    sys.exit(cli.run(main))
