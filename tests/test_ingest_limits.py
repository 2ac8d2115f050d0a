"""Ingest limits: memory that does not grow with the input, a length cap, partial decodes, old records."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from beam_pipelines.ingest_transforms import DEAD_LETTER_FILE, IngestConfig, IngestFailure, ingest_video
from media.flow import FlowEstimator
from media.quantize import decode_jpeg, encode_jpeg
from media.records import decode_record, encode_record, parse_record_tf
from media.shards import iter_records
from media.video import VideoReader, read_video, write_video
from tests.test_ingest import entry, ingest, smooth_texture, write_clip

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cut_avi(folder) -> str:
    """An MPEG-4 AVI of 40 frames cut to 60% of its bytes: its header still declares all 40."""
    whole = write_clip(f"{folder}/whole.avi", frames=40, height=96, width=128)
    with open(whole, "rb") as f:
        data = f.read()
    path = f"{folder}/cut.avi"
    with open(path, "wb") as f:
        f.write(data[: len(data) * 3 // 5])
    return path


def test_a_cut_file_is_read_in_part_and_says_so(tmp_path):
    path = cut_avi(tmp_path)
    video = read_video(path)
    assert 2 <= len(video.frames) <= 24
    assert video.partial_reason == f"decoded {len(video.frames)} of the 40 frames the container declares"
    assert read_video(str(tmp_path / "whole.avi")).partial_reason == ""


def test_partial_videos_are_flagged_in_record_and_summary_or_dead_lettered(tmp_path):
    path = cut_avi(tmp_path)
    good = write_clip(str(tmp_path / "good.avi"), seed=3)
    config = IngestConfig(size=32, num_shards=1)
    summary = ingest([entry(path), entry(good)], tmp_path / "kept", config)
    assert (summary["written"], summary["partially_decoded"]) == (2, 1)
    assert summary["partially_decoded_ids"] == ["toy/cut.avi"]
    records = {r.id: r for r in map(decode_record, iter_records(str(tmp_path / "kept"), "train"))}
    assert records["toy/cut.avi"].partial_reason.startswith("decoded ")
    assert records["toy/good.avi"].partial_reason == ""
    parsed = {p["id"].numpy().decode(): int(p["partial"]) for p in
              tf.data.TFRecordDataset(str(tmp_path / "kept" / "train-00000-of-00001.tfrecord")).map(parse_record_tf)}
    assert parsed == {"toy/cut.avi": 1, "toy/good.avi": 0}

    strict = IngestConfig(size=32, num_shards=1, reject_partial=True)
    summary = ingest([entry(path), entry(good)], tmp_path / "strict", strict)
    assert (summary["written"], summary["dead_lettered"], summary["partially_decoded"]) == (1, 1, 0)
    with open(tmp_path / "strict" / DEAD_LETTER_FILE) as f:
        (letter,) = [json.loads(line) for line in f]
    assert letter["stage"] == "decode" and "decoded only in part" in letter["reason"]
    assert "--reject_partial" in letter["reason"]


def test_videos_over_max_seconds_are_dead_lettered_whether_or_not_the_container_says(tmp_path):
    clip = write_clip(str(tmp_path / "clip.avi"), frames=12)  # 12 frames at 25 fps: 0.48 s
    estimator = FlowEstimator("dis_fast")
    with pytest.raises(IngestFailure, match=r"container declares 0.5 s \(12 frames at 25 fps\), "
                                            r"over --max_seconds 0.4") as caught:
        ingest_video(entry(clip), IngestConfig(size=32, max_seconds=0.4), estimator)
    assert caught.value.stage == "validate"
    # A raw H.264 stream declares no length: the cap bites while decoding.
    frames = np.stack([np.roll(smooth_texture(48, 64, 0), 2 * t, axis=1) for t in range(12)])
    raw = str(tmp_path / "clip.h264")
    write_video(raw, frames, codec="libx264")
    with VideoReader(raw) as reader:
        assert reader.declared_frames == 0
    with pytest.raises(IngestFailure, match=r"over --max_seconds 0.4 \(11 frames decoded at 25 fps\)"):
        ingest_video(entry(raw), IngestConfig(size=32, max_seconds=0.4), estimator)
    # Under the cap, or a cap the kept frames never reach, the video is ingested.
    assert ingest_video(entry(raw), IngestConfig(size=32, max_seconds=0.5), estimator).frames == 12
    assert ingest_video(entry(clip), IngestConfig(size=32, max_seconds=0.4, max_frames=6), estimator).frames == 6
    assert IngestConfig(max_seconds=0).max_seconds == 0  # 0 = no cap
    with pytest.raises(ValueError, match="--max_seconds"):
        IngestConfig(max_seconds=-1)


# Peak RSS of one process ingesting a 1280x720 MPEG-4 clip of FRAMES frames to a 64 px record.
# Decoding the whole clip before resizing holds FRAMES full-resolution frames twice (the list
# and np.stack): 2 x 120 x 2.76 MB = 660 MB. Streaming holds a few frames.
MEMORY_PROBE = r"""
import resource, sys
from beam_pipelines.ingest_transforms import IngestConfig, ingest_video
from beam_pipelines.datasets.entry import VideoEntry
from media.flow import FlowEstimator
from media.quantize import decode_jpeg, encode_jpeg

def run(path):
    entry = VideoEntry(path=path, label=0, label_name="C", subset="train", group="g", view=0, dataset="toy")
    return ingest_video(entry, IngestConfig(size=64), FlowEstimator("dis_fast")).frames

run(sys.argv[1])  # warm-up on a short clip of the same kind: imports, codec and OpenCV set-up
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
frames = run(sys.argv[2])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(frames, (after - before) / 1024)
"""


def moving_720p(frames: int):
    """A cheap high-resolution clip: a blurred texture sliding right, frame by frame."""
    texture = np.tile(smooth_texture(720, 320, 1), (1, 4, 1))
    for t in range(frames):
        yield np.roll(texture, 8 * t, axis=1)


def test_ingest_memory_does_not_grow_with_resolution_times_length(tmp_path):
    write_video(str(tmp_path / "short.avi"), moving_720p(4))
    write_video(str(tmp_path / "long.avi"), moving_720p(120))
    result = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(tmp_path / "short.avi"),
                             str(tmp_path / "long.avi")], cwd=REPO, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    frames, grown_mb = result.stdout.split()[-2:]
    assert int(frames) == 120
    # Streaming grows by a few full frames (2.76 MB each) and the 64 px record; the old
    # decode-everything path grew by 623 MB here (measured), streaming by 3 MB.
    assert float(grown_mb) < 60, f"peak RSS grew by {grown_mb} MB ingesting 120 frames of 720p"


def test_version_1_records_still_parse_as_whole_videos():
    frames = np.zeros((3, 16, 16, 3), np.uint8)
    current = encode_record(id="toy/x", path="x", dataset="toy", label=1, label_name="C", group="g", view=0,
                            fps=25.0, frames=frames, flow=np.zeros((2, 16, 16, 2), np.float32),
                            flow_bound=20.0, flow_algorithm="dis_fast", partial_reason="cut")
    example = tf.train.SequenceExample.FromString(current)
    assert example.context.feature["schema_version"].int64_list.value == [2]
    for key in ("partial", "partial_reason"):
        del example.context.feature[key]
    example.context.feature["schema_version"].int64_list.value[:] = [1]
    old = example.SerializeToString()
    assert decode_record(old).partial_reason == "" and decode_record(current).partial_reason == "cut"
    parsed = parse_record_tf(tf.constant(old))
    assert (int(parsed["partial"]), parsed["partial_reason"].numpy(), int(parsed["label"])) == (0, b"", 1)
    example.context.feature["schema_version"].int64_list.value[:] = [3]
    with pytest.raises(ValueError, match=r"schema_version 3, this reader knows \(1, 2\)"):
        decode_record(example.SerializeToString())


def test_streamed_records_are_the_bytes_protobuf_writes_for_the_same_message():
    """RecordBuilder writes protobuf's wire format itself; check it against the library."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (4, 24, 40, 3), dtype=np.uint8)
    flow = rng.normal(0, 3, (3, 24, 40, 2)).astype(np.float32)
    for backward in (None, -flow):
        ours = encode_record(id="toy/é.avi", path="/v/é.avi", dataset="toy", label=300, label_name="C",
                             group="g", view=1, fps=29.97, frames=frames, flow=flow, flow_bound=20.0,
                             flow_algorithm="dis_fast", backward_flow=backward, partial_reason="cut")
        example = tf.train.SequenceExample.FromString(ours)
        assert example.SerializeToString(deterministic=True) == ours
        lists = example.feature_lists.feature_list
        assert [len(lists[k].feature) for k in ("rgb", "flow_x", "flow_y", "flow_back_x")] == [
            4, 3, 3, 0 if backward is None else 3]
        record = decode_record(ours)
        assert (record.label, record.view, record.partial_reason, record.id) == (300, 1, "cut", "toy/é.avi")
        np.testing.assert_array_equal(record.frames, [decode_jpeg(encode_jpeg(f)) for f in frames])
