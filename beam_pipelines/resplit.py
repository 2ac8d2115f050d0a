"""Re-split job: one ingest's records -> the same videos under another official split.

    python -m beam_pipelines.resplit --records out/ucf101-s1 --format ucf101 --root DATA/ucf101 \\
        --split 2 --output out/ucf101-s2

UCF-101's three splits divide the same videos into train and test three ways, and a record
does not depend on the split, so ingesting each split decodes every video and computes its
flow three times (with TV-L1 at 256 px, about 1,400 of UCF-101's 2,100 CPU-core-hours are
repeats). This job reads one ingest's shards and writes another split's: the subsets come
from that split's index files, and the shards, dead letters and dataset_info.json are those
ingesting the split directly would write, byte for byte (tests/test_resplit.py), since
shards are keyed and ordered by record id alone.

An entry of the new split that is not in the source records is dead-lettered: with the
source's own row when the source dead-lettered that file, otherwise at stage `resplit` (a
video the source split did not list; HMDB-51's splits each leave some videos out). So the
summary still accounts for every entry. Records of the source that the new split does not
list are left out and counted (`source_records_not_in_split`).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import apache_beam as beam

from beam_pipelines.datasets.entry import VideoEntry
from beam_pipelines.gather import GatherAll
from beam_pipelines.ingest import add_dataset_arguments, add_run_facts, dataset_name, load_split
from beam_pipelines.ingest_transforms import (
    DEAD_LETTER_FILE, WriteIngestOutputs, config_from_info, dataset_info, dead_letter, read_summary, shard_index,
    split_duplicate_ids, subset_failure, unpublish)
from beam_pipelines.job import dry_run_report, is_dry_run, run_pipeline
from beam_pipelines.job import main as job_main
from beam_pipelines.options import pipeline_options
from beam_pipelines.storage import BEAM, absolute, check_writable
from media.records import record_context
from media.shards import INFO_FILE, SUBSETS, list_shards, read_dataset_info, verify_published
from media.storage import read_text
from media.tfrecord import read_records


def source_dead_letters(records: str) -> dict[str, dict]:
    """The source's dead-letter rows by video path (none if it has no dead-letter file)."""
    path = f"{records}/{DEAD_LETTER_FILE}"
    if not BEAM.exists(path):
        return {}
    rows = [json.loads(line) for line in read_text(BEAM, path).splitlines() if line.strip()]
    return {row["path"]: row for row in rows}


def missing_entries(entries: list[VideoEntry], present_ids, dead: dict[str, dict], records: str,
                    split: int) -> list[dict]:
    """Dead letters of the entries whose id the source records lack."""
    present = set(present_ids)
    return [dead.get(e.path) or dead_letter(e, "resplit", f"not among the records or dead letters of "
                                                         f"{records}; ingest split {split} directly")
            for e in entries if e.id not in present]


class AssignSubsetDoFn(beam.DoFn):
    """A source record -> ((subset, shard), (id, record, frames, partial reason)) under the new
    split, as the ingest job keys it; records the split does not list are dropped."""

    def __init__(self, subsets: dict[str, str], num_shards: int):
        self._subsets, self._num_shards = subsets, num_shards

    def process(self, record: bytes):
        context = record_context(record)
        subset = self._subsets.get(context["id"])
        if subset is not None:
            yield ((subset, shard_index(context["id"], self._num_shards)),
                   (context["id"], record, context["num_frames"], context["partial_reason"]))


class MissingEntriesDoFn(beam.DoFn):
    """Runs missing_entries once, on every record id found (gathered, not a side input, so
    the DaskRunner does not read the shards again for it: beam_pipelines.gather)."""

    def __init__(self, entries: list[VideoEntry], dead: dict[str, dict], records: str, split: int):
        self._entries, self._dead, self._records, self._split = entries, dead, records, split

    def process(self, present_ids: list[str]):
        yield from missing_entries(self._entries, present_ids, self._dead, self._records, self._split)


def read_shard(path: str):
    """Every record of one source shard, read through Beam's FileSystems; a damaged record
    raises media.tfrecord.DamagedRecordError naming the shard and the record's offset."""
    with BEAM.open(path) as handle:
        for _, data in read_records(handle, path):
            yield data


def _record_id(keyed) -> str:
    return keyed[1][0]


def run_resplit(entries: list[VideoEntry], records: str, output: str, options, *, data_format: str,
                split: int, classes: list[str], num_shards: int | None = None) -> dict:
    """Write `records`' videos under the split `entries` describe; returns the summary."""
    records, output = absolute(records).rstrip("/"), absolute(output).rstrip("/")
    if records == output:
        raise ValueError(f"--output must differ from --records ({records}): the job publishes into "
                         "--output by replacing its shards")
    source = read_dataset_info(records, BEAM)
    verify_published(records, source, BEAM)
    if list(source["classes"]) != list(classes):
        raise ValueError(f"{records}/dataset_info.json lists classes {source['classes'][:5]}... "
                         f"({len(source['classes'])}), the index files {classes[:5]}... ({len(classes)}): "
                         "not the same dataset")
    config = config_from_info(source)
    if num_shards:
        config = dataclasses.replace(config, num_shards=num_shards)
    info = {**dataset_info(config, dataset_name(entries, data_format), data_format, split, classes,
                           source.get("cue_table")),
            "schema_version": source["schema_version"]}
    unique, failures = split_duplicate_ids(entries)
    failures += [f for f in map(subset_failure, unique) if f]
    listed = [e for e in unique if subset_failure(e) is None]
    shards = [path for subset in SUBSETS for path in list_shards(records, subset, BEAM)]
    check_writable(f"{output}/.write-check")
    if not is_dry_run(options):
        unpublish(output)
    start = time.monotonic()
    pipeline = beam.Pipeline(options=options)
    keyed = (pipeline
             | "SourceShards" >> beam.Create(shards)
             | "Spread" >> beam.Reshuffle()
             | "Read" >> beam.FlatMap(read_shard)
             | "Assign" >> beam.ParDo(AssignSubsetDoFn({e.id: e.subset for e in listed}, config.num_shards)))
    missing = (keyed
               | "Ids" >> beam.Map(_record_id)
               | "GatherIds" >> GatherAll()
               | "Missing" >> beam.ParDo(MissingEntriesDoFn(listed, source_dead_letters(records), records, split)))
    failed = ((missing, pipeline | "Unlisted" >> beam.Create(failures)) | "AllFailures" >> beam.Flatten())
    _ = ((keyed, failed)
         | "Write" >> WriteIngestOutputs(output, config, len(entries), info))
    result = run_pipeline(pipeline, f"no {INFO_FILE} in {output}")
    if is_dry_run(options):
        return dry_run_report(result)
    source_records = sum(source["counts"].values())
    written = read_summary(output)["written"]
    return add_run_facts(output, time.monotonic() - start, options, source=records,
                         source_records=source_records, source_records_not_in_split=source_records - written)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m beam_pipelines.resplit", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Any other flag is a Beam pipeline option, as for beam_pipelines.ingest.")
    parser.add_argument("--records", required=True, help="an ingest job's output folder (any split)")
    add_dataset_arguments(parser)  # --split: the split to write
    parser.add_argument("--output", required=True, help="output folder (local or gs://)")
    parser.add_argument("--num_shards", type=int, default=0, help="shards per subset; 0 = as the source")
    return parser


def run(argv=None) -> dict:
    parser = build_parser()
    args, beam_argv = parser.parse_known_args(argv)
    if args.num_shards < 0:
        parser.error(f"--num_shards must be >= 0, got {args.num_shards}")
    entries, classes = load_split(parser, args)
    summary = run_resplit(entries, args.records, args.output, pipeline_options(beam_argv),
                          data_format=args.format, split=args.split, classes=classes,
                          num_shards=args.num_shards or None)
    print(json.dumps(summary, indent=2, sort_keys=True))
    return summary


def main(argv=None) -> int:
    """The command line: a bad flag, path or damaged source record is one `error:` line (beam_pipelines.job)."""
    return job_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
