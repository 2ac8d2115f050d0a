"""Ingest job: videos -> RGB frames + optical flow as sharded TFRecords.

    python -m beam_pipelines.ingest --format ucf101 --root DATA/ucf101 --split 1 \\
        --output out/ucf101-s1 --flow dis --size 256 --num_shards 4

Writes `<output>/{train,test}-NNNNN-of-NNNNN.tfrecord`, `dataset_info.json`,
`dead_letter-00000-of-00001.jsonl` (one JSON line per video that could not be
ingested: path, id, stage, reason) and `summary.json`, which is also printed.
Unknown flags go to Beam's PipelineOptions (see beam_pipelines.options for the
offline local default and `--runner=DataflowRunner` for the cloud).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import uuid

import apache_beam as beam
import tensorflow as tf
from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

from beam_pipelines.datasets.entry import VideoEntry
from beam_pipelines.ingest_transforms import (
    DEFAULT_MAX_SECONDS, SUMMARY_FILE, IngestConfig, IngestVideos, WriteIngestOutputs, dataset_info,
    split_duplicate_ids)
from beam_pipelines.options import LOCAL_RUNNER, pipeline_options, quiet_beam_logs
from media.flow import ALGORITHMS, ALIASES
from media.quantize import DEFAULT_BOUND, DEFAULT_JPEG_QUALITY

FORMATS = ("ucf101", "hmdb51", "csv")


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True, choices=FORMATS, help="layout of the input")
    parser.add_argument("--root", help="dataset folder as the official archive unpacks")
    parser.add_argument("--manifest", help="CSV manifest (for --format csv)")
    parser.add_argument("--split", type=int, default=1, choices=(1, 2, 3), help="official train/test split")


def load_split(parser: argparse.ArgumentParser, args) -> tuple[list[VideoEntry], list[str]]:
    """The split's entries and the class names, or exit naming the index file and line."""
    if not (args.root or args.manifest):
        parser.error("give --root DIR or --manifest FILE")
    from beam_pipelines.datasets import load_class_names, load_entries

    try:
        return (load_entries(args.format, split=args.split, root=args.root, manifest=args.manifest),
                load_class_names(args.format, root=args.root, manifest=args.manifest))
    except ValueError as err:  # DatasetError names the index file and line
        parser.exit(2, f"{parser.prog}: {err}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m beam_pipelines.ingest", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Any other flag is a Beam pipeline option, e.g. --direct_num_workers=2 or "
               "--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp.")
    add_dataset_arguments(parser)
    parser.add_argument("--output", required=True, help="output folder (local or gs://)")
    parser.add_argument("--flow", default="dis_medium", choices=ALGORITHMS + tuple(ALIASES),
                        help="optical flow algorithm (dis = dis_fast); the default, dis_medium, is the "
                             "flow study's pick (docs/ingest.md)")
    parser.add_argument("--bidirectional", action="store_true", help="also store backward flow")
    parser.add_argument("--size", type=int, default=256, help="smaller side in pixels; 0 keeps the source size")
    parser.add_argument("--stride", type=int, default=1, help="keep every Nth frame")
    parser.add_argument("--max_frames", type=int, default=0, help="frames kept per video; 0 = all")
    parser.add_argument("--flow_bound", type=float, default=DEFAULT_BOUND,
                        help="flow is clipped to +-bound pixels before 8-bit quantisation")
    parser.add_argument("--jpeg_quality", type=int, default=DEFAULT_JPEG_QUALITY)
    parser.add_argument("--num_shards", type=int, default=4, help="shards per subset")
    parser.add_argument("--max_seconds", type=float, default=DEFAULT_MAX_SECONDS,
                        help="dead-letter videos longer than this (a record grows with length); 0 = no cap")
    parser.add_argument("--reject_partial", action="store_true",
                        help="dead-letter videos that decode only in part (cut-off or damaged files) "
                             "instead of writing what decoded, flagged `partial` in the record")
    parser.add_argument("--limit", type=int, default=0, help="ingest only the first N entries (smoke runs)")
    return parser


def absolute(path: str) -> str:
    """Local paths become absolute so worker processes agree on them; URLs pass through."""
    return path if "://" in path else os.path.abspath(path)


def run_ingest(entries: list[VideoEntry], output: str, config: IngestConfig, options,
               *, dataset: str, data_format: str, split: int, classes: list[str]) -> dict:
    """Run the pipeline over `entries`; returns the summary (also in summary.json)."""
    output = absolute(output).rstrip("/")
    tf.io.gfile.makedirs(output)
    unique, duplicates = split_duplicate_ids(entries)
    info = dataset_info(config, dataset, data_format, split, classes)
    start = time.monotonic()
    with beam.Pipeline(options=options) as pipeline:
        records, failed = (pipeline
                           | "Entries" >> beam.Create(unique)
                           | "Ingest" >> IngestVideos(config))
        failures = ((failed, pipeline | "Duplicates" >> beam.Create(duplicates))
                    | "AllFailures" >> beam.Flatten())
        _ = ((records, failures)
             | "Write" >> WriteIngestOutputs(output, config, len(entries), info, uuid.uuid4().hex))
    return add_run_facts(output, time.monotonic() - start, options)


def add_run_facts(output: str, elapsed: float, options, **extra) -> dict:
    """summary.json as the job's finaliser wrote it, plus how the run went; returns it."""
    summary_path = f"{output}/{SUMMARY_FILE}"
    with tf.io.gfile.GFile(summary_path) as f:
        summary = json.load(f)
    runner = options.view_as(StandardOptions).runner
    summary.update({
        "elapsed_s": round(elapsed, 3),
        "frames_per_s": round(summary["frames"] / elapsed, 2) if elapsed > 0 else None,
        "runner": runner,
        **extra,
    })
    if runner == LOCAL_RUNNER:
        direct = options.view_as(DirectOptions)
        summary.update(direct_num_workers=direct.direct_num_workers,
                       direct_running_mode=direct.direct_running_mode)
    with tf.io.gfile.GFile(summary_path, "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
    return summary


def dataset_name(entries: list[VideoEntry], data_format: str) -> str:
    names = {entry.dataset for entry in entries if entry.dataset}
    return names.pop() if len(names) == 1 else data_format


def run(argv=None) -> dict:
    parser = build_parser()
    args, beam_argv = parser.parse_known_args(argv)
    if args.limit < 0:
        parser.error(f"--limit must be >= 0, got {args.limit}")
    try:
        config = IngestConfig(flow=args.flow, bidirectional=args.bidirectional, size=args.size,
                              stride=args.stride, max_frames=args.max_frames,
                              flow_bound=args.flow_bound, jpeg_quality=args.jpeg_quality,
                              num_shards=args.num_shards, max_seconds=args.max_seconds,
                              reject_partial=args.reject_partial)
    except ValueError as err:
        parser.error(str(err))
    entries, classes = load_split(parser, args)
    if args.limit:
        entries = entries[:args.limit]
    summary = run_ingest(entries, args.output, config, pipeline_options(beam_argv),
                         dataset=dataset_name(entries, args.format), data_format=args.format,
                         split=args.split, classes=classes)
    print(json.dumps(summary, indent=2, sort_keys=True))
    return summary


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    quiet_beam_logs()
    run(sys.argv[1:])
