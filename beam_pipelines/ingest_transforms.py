"""The ingest job's per-video work and its deterministic shard writing.

Plain functions do the work (decode, flow, encode, shard assignment, shard
writing, finalisation); the DoFns and the IngestVideos / WriteIngestOutputs
transforms only wire them into Beam.  They live outside `ingest.py` so that
workers unpickle them from an importable module, not from `__main__`.

Publishing (the same on local disk, gs:// and s3://, all through beam_pipelines.storage):
the launcher deletes `<output>/dataset_info.json` before the pipeline starts; shard writers
write `train-00000-of-0000N.tfrecord` under its final name, computing its size and CRC32C as
they write; the single finalisation step, after every shard writer has finished (it gathers
all their results and every dead letter), checks the accounting, removes shards of an older
set, writes the dead letters and the summary, and writes dataset_info.json last, listing each
shard's records, bytes and CRC32C. dataset_info.json is the commit marker: readers refuse a
folder without it, and a shard that disagrees with it is damaged (media.shards). A job that
dies midway leaves no dataset_info.json. There is no rename: on an object store it is a copy
and a delete, not atomic either, while an object appears whole when its upload completes.
We write shards ourselves instead of using Beam's WriteToTFRecord because its sharding is
random, and we need the same inputs to give byte-identical shards on every rerun.

The graph is one any Beam runner executes alike, Beam's DaskRunner included
(docs/runners.md): the per-video step has one output whose elements name their kind
(a record or a dead letter) and two cheap splits route them, since the DaskRunner
hands every consumer of a multi-output ParDo every output; shards are written in
`process`, never in `finish_bundle`, whose outputs the DaskRunner drops; and the
finaliser, the last step, reads everything through a GroupByKey (beam_pipelines.gather),
so it depends on every branch, and a runner that recomputes side inputs does not
decode a video twice.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass

import apache_beam as beam
import google_crc32c

from beam_pipelines.datasets.entry import VideoEntry
from beam_pipelines.gather import GatherAll, tag_as, values_tagged
from beam_pipelines.storage import BEAM, is_remote
from media.flow import FlowEstimator, canonical_algorithm, to_gray
from media.quantize import DEFAULT_BOUND, DEFAULT_JPEG_QUALITY
from media.records import SCHEMA_VERSION, RecordBuilder
from media.shards import INFO_FILE, SUBSETS, shard_name, verify_published, write_dataset_info
from media.storage import read_json, write_json, write_text
from media.tfrecord import frame
from media.video import VideoReader

RECORD = "record"
FAILED = "failed"
SHARD = "shard"
SUMMARY_FILE = "summary.json"
DEAD_LETTER_FILE = "dead_letter-00000-of-00001.jsonl"
# Frames smaller than this on either side carry no usable motion; DIS and
# TV-L1 build image pyramids that need some pixels to work on.
MIN_SIDE = 16
# 10 minutes: UCF-101 and HMDB-51 clips last seconds; at --size 256 a 10-minute 30 fps
# video makes a record of a few hundred MB. 0 = no cap.
DEFAULT_MAX_SECONDS = 600.0


@dataclass(frozen=True)
class IngestConfig:
    """Everything that decides a record's bytes; stored in dataset_info.json."""

    flow: str = "dis_medium"
    bidirectional: bool = False
    size: int = 256
    stride: int = 1
    max_frames: int = 0
    flow_bound: float = DEFAULT_BOUND
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    num_shards: int = 1
    # Longer videos are dead-lettered, not ingested: a record grows with the video's length.
    max_seconds: float = DEFAULT_MAX_SECONDS
    reject_partial: bool = False  # dead-letter a video that decodes only in part

    def __post_init__(self):
        object.__setattr__(self, "flow", canonical_algorithm(self.flow))
        for name, low in (("size", 0), ("stride", 1), ("max_frames", 0), ("num_shards", 1),
                          ("max_seconds", 0)):
            if getattr(self, name) < low:
                raise ValueError(f"--{name} must be >= {low}, got {getattr(self, name)}")
        if self.max_frames == 1:
            raise ValueError("--max_frames must be 0 (all) or >= 2: flow needs a pair of frames")
        if not self.flow_bound > 0:
            raise ValueError(f"--flow_bound must be > 0, got {self.flow_bound}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"--jpeg_quality must be in 1..100, got {self.jpeg_quality}")


class IngestFailure(Exception):
    """One video that cannot become a record, with the stage where it failed."""

    def __init__(self, stage: str, reason: str):
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


def dead_letter(entry: VideoEntry, stage: str, reason: str) -> dict:
    return {"path": entry.path, "id": entry.id, "stage": stage, "reason": reason}


def subset_failure(entry: VideoEntry) -> dict | None:
    """The dead letter of an entry in neither subset, or None."""
    if entry.subset in SUBSETS:
        return None
    return dead_letter(entry, "validate", f"subset {entry.subset!r} is not one of {SUBSETS}")


@contextlib.contextmanager
def local_file(path: str):
    """A local path for `path`; remote files (gs://...) are copied to a temp file.

    The decoders need a seekable local file; Beam's filesystems read any scheme. A remote
    file that is not there is handed on as it is, so the decoder reports it in the words
    it uses for a missing local file.
    """
    if not is_remote(path) or not BEAM.exists(path):
        yield path
        return
    suffix = os.path.splitext(path)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with BEAM.open(path) as src:
            while chunk := src.read(1 << 22):
                tmp.write(chunk)
        tmp.flush()
        yield tmp.name


@contextlib.contextmanager
def _stage(name: str):
    """Turn any error inside a stage into an IngestFailure naming the stage."""
    try:
        yield
    except IngestFailure:
        raise
    except Exception as err:  # decoders and OpenCV raise many error types
        reason = getattr(err, "reason", None) or f"{type(err).__name__}: {err}"
        raise IngestFailure(name, reason) from err


@dataclass(frozen=True)
class IngestedVideo:
    record: bytes
    frames: int  # RGB frames stored
    partial_reason: str  # "" when the whole video decoded


def _check_length(reader: VideoReader, config: IngestConfig) -> None:
    """Dead-letter a video over --max_seconds before decoding it, if its container says so."""
    if not config.max_seconds or not reader.declared_frames:
        return
    decoded_to = reader.declared_frames
    if config.max_frames:
        decoded_to = min(decoded_to, config.max_frames * config.stride)
    if decoded_to / reader.fps > config.max_seconds:
        raise IngestFailure("validate", f"too long: the container declares {reader.declared_seconds:.1f} s "
                                        f"({reader.declared_frames} frames at {reader.fps:g} fps), "
                                        f"over --max_seconds {config.max_seconds:g}")


def ingest_video(entry: VideoEntry, config: IngestConfig, estimator: FlowEstimator) -> IngestedVideo:
    """One video file -> its serialized record, streaming: each frame is decoded, resized,
    paired with the previous one for flow and JPEG-encoded before the next is decoded,
    so memory holds the encoded record plus a few frames, whatever the input's length
    and resolution."""
    with _stage("read"), local_file(entry.path) as path:
        with _stage("decode"):
            reader = VideoReader(path, size=config.size, stride=config.stride,
                                 max_frames=config.max_frames or None)
        with reader:
            return _stream_record(entry, config, estimator, reader)


def _stream_record(entry: VideoEntry, config: IngestConfig, estimator: FlowEstimator,
                   reader: VideoReader) -> IngestedVideo:
    with _stage("validate"):
        if min(reader.source_height, reader.source_width) < MIN_SIDE:
            raise IngestFailure("validate", f"resolution {reader.source_width}x{reader.source_height} "
                                            f"is below {MIN_SIDE} px on a side")
        _check_length(reader, config)
    max_decoded = config.max_seconds * reader.fps if config.max_seconds else float("inf")
    builder = RecordBuilder(config.flow_bound, config.jpeg_quality)
    previous = None
    with _stage("decode"):  # decoding and resizing happen as the loop pulls each frame
        for frame in reader:
            if reader.decoded_frames > max_decoded:  # the container understated its length
                raise IngestFailure("validate", f"too long: over --max_seconds {config.max_seconds:g} "
                                                f"({reader.decoded_frames} frames decoded at {reader.fps:g} fps)")
            with _stage("flow"):
                gray = to_gray(frame)
                forward = backward = None
                if previous is not None:
                    forward = estimator(previous, gray)
                    backward = estimator(gray, previous) if config.bidirectional else None
            with _stage("encode"):
                builder.add_frame(frame)
                if forward is not None:
                    builder.add_flow(forward, backward)
            previous = gray
    if reader.partial_reason and config.reject_partial:
        raise IngestFailure("decode", f"decoded only in part ({reader.partial_reason}); --reject_partial")
    with _stage("validate"):
        if builder.num_frames < 2:
            raise IngestFailure(
                "validate", f"too short: {builder.num_frames} frame(s) after stride={config.stride}, "
                            "need at least 2 for one flow pair")
    with _stage("encode"):
        record = builder.serialize(
            id=entry.id, path=entry.path, dataset=entry.dataset, label=entry.label,
            label_name=entry.label_name, group=entry.group, view=entry.view,
            fps=reader.fps / config.stride, flow_algorithm=config.flow,
            partial_reason=reader.partial_reason)
    return IngestedVideo(record, builder.num_frames, reader.partial_reason)


def _id_digest(record_id: str) -> int:
    """Stable across processes and runs (unlike hash(), which is salted per process)."""
    return int.from_bytes(hashlib.sha256(record_id.encode()).digest()[:8], "big")


def shard_index(record_id: str, num_shards: int) -> int:
    return _id_digest(record_id) % num_shards


def split_duplicate_ids(entries: list[VideoEntry]) -> tuple[list[VideoEntry], list[dict]]:
    """Keep the first entry per record id (in input order); dead-letter the rest.

    Two files with one id would give two records readers cannot tell apart.
    """
    kept, failed, first = [], [], {}
    for entry in entries:
        if entry.id in first:
            failed.append(dead_letter(entry, "validate", f"duplicate id {entry.id!r}, also {first[entry.id]}"))
        else:
            first[entry.id] = entry.path
            kept.append(entry)
    return kept, failed


@dataclass(frozen=True)
class WrittenShard:
    records: int
    frames: int
    partial: list  # ids of the partially decoded videos
    bytes: int
    crc32c: str  # of the whole file, 8 hex digits, as GCS keeps it


def write_shard(path: str, items) -> WrittenShard:
    """Write (id, record, frames, partial_reason) items in the order of their ids' digests,
    straight to `path`, checksumming the bytes as they go out.

    Not in id order: ids name their class (v_<Class>_g.._c..), so a shard in id order is a
    run of one class after another, and a reader that shuffles through a small buffer (the
    training input holds 64 records of whole videos) would feed batches of one or two
    classes. The digest order mixes the classes and is the same on every runner and rerun.
    """
    items = sorted(items, key=lambda item: (_id_digest(item[0]), item[0]))
    checksum, size = google_crc32c.Checksum(), 0
    with BEAM.create(path) as handle:
        for _, record, _, _ in items:
            framed = frame(record)
            handle.write(framed)
            checksum.update(framed)
            size += len(framed)
    return WrittenShard(len(items), sum(item[2] for item in items), [item[0] for item in items if item[3]],
                        size, checksum.hexdigest().decode("ascii"))


def check_shard_results(shards: list[dict], num_shards: int) -> None:
    """The shard writers' results must be one N-of-N set per subset, each shard once.

    A runner that loses or repeats a bundle (as DaskRunner did with tagged outputs)
    would otherwise publish a set with a hole or a duplicate.
    """
    for subset in SUBSETS:
        indices = sorted(s["index"] for s in shards if s["subset"] == subset)
        if indices != list(range(num_shards)):
            missing = sorted(set(range(num_shards)) - set(indices))
            repeated = sorted({i for i in indices if indices.count(i) > 1 or not 0 <= i < num_shards})
            raise RuntimeError(
                f"the {subset} shard writers did not return one {num_shards}-of-{num_shards} set "
                f"(missing {[shard_name(subset, i, num_shards) for i in missing]}, "
                f"repeated or out of range {repeated}); nothing was published")


def _remove_stale(output: str, pattern: str, keep: set[str]) -> None:
    for path in BEAM.glob(f"{output}/{pattern}"):
        if path not in keep:
            BEAM.delete(path)


def unpublish(output: str) -> None:
    """Delete the commit marker before shards are replaced: readers refuse the folder until the
    finaliser writes it again (media.shards)."""
    info_path = f"{output}/{INFO_FILE}"
    if BEAM.exists(info_path):
        BEAM.delete(info_path)


def finalize_outputs(output: str, shards: list[dict], failures: list[dict], inputs: int, info: dict) -> dict:
    """Publish: remove an older set's shards, write the dead letters and summary.json, then
    dataset_info.json last; return the summary.

    Runs once, after all shards are written. Refuses to publish if the counts do not add
    up: a silently lost video is worse than a failed job. Safe to retry (Dataflow retries a
    failed bundle): every step writes the same bytes again.
    """
    unpublish(output)
    written = sum(s["records"] for s in shards)
    if written + len(failures) != inputs:
        raise RuntimeError(f"{output}: {inputs} inputs but {written} written + "
                           f"{len(failures)} dead-lettered; some videos were lost (by the runner: "
                           f"docs/runners.md), so nothing was published (no {INFO_FILE})")
    check_shard_results(shards, info["num_shards"])
    final = {s["final"] for s in shards}
    for subset in SUBSETS:
        _remove_stale(output, f"{subset}-?????-of-?????.tfrecord", final)
    dead_path = f"{output}/{DEAD_LETTER_FILE}"
    _remove_stale(output, "dead_letter-*.jsonl", {dead_path})
    write_text(BEAM, dead_path, "".join(
        json.dumps(item, sort_keys=True) + "\n"
        for item in sorted(failures, key=lambda d: (d["path"], d["stage"], d["reason"]))))
    counts = {subset: sum(s["records"] for s in shards if s["subset"] == subset) for subset in SUBSETS}
    info = {**info, "counts": counts, "shards": {
        s["final"].rsplit("/", 1)[-1]: {"records": s["records"], "bytes": s["bytes"], "crc32c": s["crc32c"]}
        for s in shards}}
    verify_published(output, info, BEAM)
    by_stage: dict[str, int] = {}
    for item in failures:
        by_stage[item["stage"]] = by_stage.get(item["stage"], 0) + 1
    summary = {
        "output": output,
        "inputs": inputs,
        "written": written,
        "dead_lettered": len(failures),
        "dead_lettered_by_stage": dict(sorted(by_stage.items())),
        "counts": counts,
        "frames": sum(s["frames"] for s in shards),
        # Written, but decoded only in part (the record's `partial` field says so too).
        "partially_decoded": sum(len(s.get("partial", ())) for s in shards),
        "partially_decoded_ids": sorted(i for s in shards for i in s.get("partial", ())),
        "shards": {subset: sorted(s["final"].rsplit("/", 1)[-1] for s in shards if s["subset"] == subset)
                   for subset in SUBSETS},
        "dead_letter_file": dead_path,
    }
    write_json(BEAM, f"{output}/{SUMMARY_FILE}", summary)
    write_dataset_info(output, info, BEAM)
    return summary


def read_summary(output: str) -> dict:
    return read_json(BEAM, f"{output}/{SUMMARY_FILE}")


def write_summary(output: str, summary: dict) -> None:
    write_json(BEAM, f"{output}/{SUMMARY_FILE}", summary)


def dataset_info(config: IngestConfig, dataset: str, data_format: str, split: int,
                 classes: list[str], cue_table: dict | None = None) -> dict:
    """dataset_info.json without the counts (those are known only at the end). `cue_table`: what
    the synthetic benchmark's classes show (media.ceilings), so evaluation can give ceilings."""
    info = {
        "dataset": dataset, "format": data_format, "split": split, "classes": list(classes),
        "flow": {"algorithm": config.flow, "bound": config.flow_bound,
                 "bidirectional": config.bidirectional, "jpeg_quality": config.jpeg_quality},
        "size": config.size, "stride": config.stride, "max_frames": config.max_frames,
        "max_seconds": config.max_seconds, "reject_partial": config.reject_partial,
        "num_shards": config.num_shards, "schema_version": SCHEMA_VERSION,
    }
    if cue_table is not None:
        info["cue_table"] = cue_table
    return info


def config_from_info(info: dict) -> IngestConfig:
    """The IngestConfig that wrote records described by `info` (dataset_info's inverse)."""
    flow = info["flow"]
    return IngestConfig(flow=flow["algorithm"], bidirectional=flow["bidirectional"], size=info["size"],
                        stride=info["stride"], max_frames=info["max_frames"], flow_bound=flow["bound"],
                        jpeg_quality=flow["jpeg_quality"], num_shards=info["num_shards"],
                        # Records from before the cap and the flag had neither.
                        max_seconds=info.get("max_seconds", 0.0), reject_partial=info.get("reject_partial", False))


# Beam wiring ----------------------------------------------------------------

class ProcessVideoDoFn(beam.DoFn):
    """VideoEntry -> (RECORD, ((subset, shard), (id, record, frames, partial reason))) or (FAILED, dead letter)."""

    def __init__(self, config: IngestConfig):
        self._config = config
        self._estimator = None

    def setup(self):
        import cv2

        # Beam already runs one worker per core; OpenCV's own threads would oversubscribe.
        cv2.setNumThreads(1)
        self._estimator = FlowEstimator(self._config.flow)

    def process(self, entry: VideoEntry):
        failure = subset_failure(entry)
        if failure:
            yield FAILED, failure
            return
        try:
            video = ingest_video(entry, self._config, self._estimator)
        except IngestFailure as err:
            yield FAILED, dead_letter(entry, err.stage, err.reason)
            return
        key = (entry.subset, shard_index(entry.id, self._config.num_shards))
        yield RECORD, (key, (entry.id, video.record, video.frames, video.partial_reason))


class WriteShardDoFn(beam.DoFn):
    """((subset, shard), items) -> a dict naming the shard written, its counts, size and CRC32C."""

    def __init__(self, output: str, num_shards: int):
        self._output, self._num_shards = output, num_shards

    def process(self, element):
        (subset, index), items = element
        final = f"{self._output}/{shard_name(subset, index, self._num_shards)}"
        written = write_shard(final, [item for item in items if item is not None])
        yield {"subset": subset, "index": index, "final": final, "records": written.records,
               "frames": written.frames, "partial": written.partial, "bytes": written.bytes,
               "crc32c": written.crc32c}


class FinalizeDoFn(beam.DoFn):
    """Runs finalize_outputs once, on the gathered (SHARD, result) and (FAILED, dead letter) pairs."""

    def __init__(self, output: str, inputs: int, info: dict):
        self._output, self._inputs, self._info = output, inputs, info

    def process(self, results: list):
        shards = [value for tag, value in results if tag == SHARD]
        failures = [value for tag, value in results if tag == FAILED]
        yield finalize_outputs(self._output, shards, failures, self._inputs, self._info)


class IngestVideos(beam.PTransform):
    """PCollection[VideoEntry] -> (records keyed by shard, dead letters)."""

    def __init__(self, config: IngestConfig):
        super().__init__()
        self._config = config

    def expand(self, entries):
        processed = (entries
                     | "Spread" >> beam.Reshuffle()
                     | "Process" >> beam.ParDo(ProcessVideoDoFn(self._config)))
        return (processed | "Records" >> beam.FlatMap(values_tagged, RECORD),
                processed | "Failures" >> beam.FlatMap(values_tagged, FAILED))


class WriteIngestOutputs(beam.PTransform):
    """(keyed records, dead letters) -> one summary dict, after everything is published."""

    def __init__(self, output: str, config: IngestConfig, inputs: int, info: dict):
        super().__init__()
        self._output = output.rstrip("/")
        self._config = config
        self._inputs = inputs
        self._info = info

    def expand(self, pcolls):
        records, failures = pcolls
        pipeline = records.pipeline
        # One empty seed per shard, so every shard of the N-of-N set exists even if empty.
        seeds = pipeline | "ShardSeeds" >> beam.Create(
            [((subset, i), None) for subset in SUBSETS for i in range(self._config.num_shards)])
        shards = ((records, seeds)
                  | "Merge" >> beam.Flatten()
                  | "GroupByShard" >> beam.GroupByKey()
                  | "WriteShards" >> beam.ParDo(WriteShardDoFn(self._output, self._config.num_shards)))
        return ((shards | "TagShards" >> beam.Map(tag_as, SHARD),
                 failures | "TagFailures" >> beam.Map(tag_as, FAILED))
                | "Results" >> beam.Flatten()
                | "Gather" >> GatherAll()
                | "Finalize" >> beam.ParDo(FinalizeDoFn(self._output, self._inputs, self._info)))
