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
import sys
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

from beam_pipelines.datasets.entry import VideoEntry
from beam_pipelines.ingest_transforms import (
    DEFAULT_MAX_SECONDS, IngestConfig, IngestVideos, WriteIngestOutputs, dataset_info, read_summary,
    split_duplicate_ids, unpublish, write_summary)
from beam_pipelines.job import dry_run_report, is_dry_run, run_pipeline
from beam_pipelines.job import main as job_main
from beam_pipelines.options import LOCAL_RUNNER, pipeline_options
from beam_pipelines.storage import BEAM, absolute, check_writable, dirname, join
from media.ceilings import CUE_TABLE_FILE
from media.storage import read_json
from media.shards import INFO_FILE
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


def read_cue_table(args) -> dict | None:
    """The cue table a rendered benchmark set keeps beside its index files, if there is one."""
    path = join(args.root or dirname(args.manifest), CUE_TABLE_FILE)
    return read_json(BEAM, path) if BEAM.exists(path) else None


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


def run_ingest(entries: list[VideoEntry], output: str, config: IngestConfig, options,
               *, dataset: str, data_format: str, split: int, classes: list[str],
               cue_table: dict | None = None) -> dict:
    """Run the pipeline over `entries`; returns the summary (also in summary.json). `cue_table` goes
    into dataset_info.json (read_cue_table)."""
    output = absolute(output).rstrip("/")
    check_writable(f"{output}/.write-check")
    if not is_dry_run(options):
        unpublish(output)
    unique, duplicates = split_duplicate_ids(entries)
    info = dataset_info(config, dataset, data_format, split, classes, cue_table)
    start = time.monotonic()
    pipeline = beam.Pipeline(options=options)
    records, failed = (pipeline
                       | "Entries" >> beam.Create(unique)
                       | "Ingest" >> IngestVideos(config))
    failures = ((failed, pipeline | "Duplicates" >> beam.Create(duplicates))
                | "AllFailures" >> beam.Flatten())
    _ = ((records, failures)
         | "Write" >> WriteIngestOutputs(output, config, len(entries), info))
    result = run_pipeline(pipeline, f"no {INFO_FILE} in {output}")
    if is_dry_run(options):
        return dry_run_report(result)
    return add_run_facts(output, time.monotonic() - start, options)


def add_run_facts(output: str, elapsed: float, options, **extra) -> dict:
    """summary.json as the job's finaliser wrote it, plus how the run went; returns it."""
    summary = read_summary(output)
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
    write_summary(output, summary)
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
                         split=args.split, classes=classes, cue_table=read_cue_table(args))
    print(json.dumps(summary, indent=2, sort_keys=True))
    return summary


def main(argv=None) -> int:
    """The command line: a bad flag, path or input is one `error:` line (beam_pipelines.job)."""
    return job_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
