"""The ingest job on small real videos: transforms, dead letters, accounting, determinism."""
from __future__ import annotations

import hashlib
import json
import os
import shutil

import apache_beam as beam
import cv2
import google_crc32c
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_pipelines.datasets.entry import VideoEntry
from beam_pipelines.ingest import run_ingest
from beam_pipelines.ingest_transforms import (
    DEAD_LETTER_FILE, IngestConfig, IngestFailure, IngestVideos, WriteIngestOutputs,
    finalize_outputs, ingest_video, shard_index, write_shard)
from beam_pipelines.options import LOCAL_RUNNER, pipeline_options
from media.flow import FlowEstimator
from media.quantize import dequantize_flow, quantize_flow
from media.records import decode_flow_tf, decode_record, encode_record, parse_record_tf
from media.shards import (
    ShardSetError, iter_records, list_shards, read_dataset_info, shard_name, verify_published, write_dataset_info)
from media.video import write_video

SHIFT = 2  # pixels per frame the test clips move to the right
IN_MEMORY = ["--direct_running_mode=in_memory"]


def smooth_texture(height: int, width: int, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 3)


def write_clip(path: str, frames: int = 6, height: int = 48, width: int = 64, seed: int = 0) -> str:
    """A real video whose texture moves SHIFT pixels right per frame."""
    base = smooth_texture(height, width, seed)
    write_video(path, np.stack([np.roll(base, SHIFT * t, axis=1) for t in range(frames)]))
    return path


def entry(path: str, subset: str = "train", label: int = 0, view: int = 0) -> VideoEntry:
    return VideoEntry(path=str(path), label=label, label_name=f"Class{label}", subset=subset,
                      group=f"g{label}", view=view, dataset="toy")


def write_bad_inputs(folder) -> dict[str, tuple[str, str]]:
    """Each kind of bad input -> (expected stage, expected words in the reason)."""
    folder = str(folder)
    open(f"{folder}/empty.avi", "wb").close()
    with open(f"{folder}/notes.avi", "w") as f:
        f.write("this is a text file, not a video\n" * 20)
    full = write_clip(f"{folder}/whole.mp4")
    with open(full, "rb") as f:
        data = f.read()
    with open(f"{folder}/truncated.mp4", "wb") as f:
        f.write(data[: len(data) * 2 // 5])
    os.remove(full)
    write_clip(f"{folder}/single.avi", frames=1)
    write_clip(f"{folder}/tiny.avi", height=8, width=8)
    os.mkdir(f"{folder}/folder.avi")
    # Just over media.video.MAX_PIXELS; x264 encodes black frames of this size in ~1 s.
    write_video(f"{folder}/huge.mp4", np.zeros((2, 4112, 4096, 3), np.uint8))
    return {
        "empty.avi": ("decode", "empty"),
        "notes.avi": ("decode", "pyav"),
        "truncated.mp4": ("decode", "pyav"),
        "single.avi": ("validate", "too short"),
        "tiny.avi": ("validate", "below 16 px"),
        "folder.avi": ("decode", "directory"),
        "huge.mp4": ("decode", "absurd resolution"),
        "missing.avi": ("decode", "does not exist"),
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Good clips in both subsets plus every kind of bad input, as VideoEntry lists."""
    root = tmp_path_factory.mktemp("videos")
    os.mkdir(root / "copy")
    good = [entry(write_clip(str(root / f"v_C{i % 2}_g{i:02d}_c01.avi"), seed=i),
                  subset="test" if i >= 4 else "train", label=i % 2, view=i % 2) for i in range(6)]
    bad = write_bad_inputs(root)
    bad_entries = [entry(root / name) for name in bad]
    # Same file name in another folder: same record id as good[0].
    shutil.copy(good[0].path, root / "copy" / os.path.basename(good[0].path))
    duplicate = entry(root / "copy" / os.path.basename(good[0].path))
    wrong_subset = entry(good[1].path.replace("g01", "g01x"), subset="validation")
    shutil.copy(good[1].path, wrong_subset.path)
    expected = {str(root / name): reason for name, reason in bad.items()}
    expected[duplicate.path] = ("validate", "duplicate id")
    expected[wrong_subset.path] = ("validate", "subset 'validation'")
    return {"good": good, "all": good + bad_entries + [duplicate, wrong_subset], "bad": expected}


CONFIG = IngestConfig(flow="dis_fast", size=32, num_shards=2, bidirectional=True)


def ingest(entries, output, config=CONFIG, beam_args=IN_MEMORY) -> dict:
    return run_ingest(entries, str(output), config, pipeline_options(beam_args),
                      dataset="toy", data_format="csv", split=1, classes=["Class0", "Class1"])


@pytest.fixture(scope="module")
def ingested(dataset, tmp_path_factory):
    output = tmp_path_factory.mktemp("records")
    return output, ingest(dataset["all"], output)


def test_ingest_video_stores_resized_frames_and_flow_in_both_directions(tmp_path):
    clip = entry(write_clip(str(tmp_path / "move.avi")))
    video = ingest_video(clip, CONFIG, FlowEstimator("dis_fast"))
    record_bytes, frames = video.record, video.frames
    record = decode_record(record_bytes)
    assert frames == 6
    assert record.frames.shape == (6, 32, 43, 3)  # 48x64 scaled so the short side is 32
    assert record.flow.shape == record.backward_flow.shape == (5, 32, 43, 2)
    scale = 32 / 48
    centre = (slice(None), slice(8, 24), slice(10, 33))
    # Texture moves right: forward flow points +x, backward flow -x, no vertical motion.
    assert np.median(record.flow[centre][..., 0]) == pytest.approx(SHIFT * scale, abs=0.4)
    assert np.median(record.backward_flow[centre][..., 0]) == pytest.approx(-SHIFT * scale, abs=0.4)
    assert abs(np.median(record.flow[centre][..., 1])) < 0.3
    assert (record.id, record.label_name, record.flow_algorithm) == ("toy/move.avi", "Class0", "dis_fast")
    assert record.fps == pytest.approx(25.0)


@pytest.mark.parametrize("algorithm", ["dis_ultrafast", "dis_fast", "dis_medium", "farneback", "tvl1"])
def test_reused_estimator_gives_the_same_flow_as_a_fresh_one(algorithm):
    """Records must not depend on which videos a worker happened to process before."""
    def pair(seed):
        base = smooth_texture(32, 43, seed)
        return base, np.roll(base, SHIFT, axis=1)

    used = FlowEstimator(algorithm)
    used(*pair(5))
    used(*reversed(pair(7)))
    np.testing.assert_array_equal(used(*pair(2)), FlowEstimator(algorithm)(*pair(2)))


def test_each_bad_input_names_its_stage_and_reason(dataset):
    estimator = FlowEstimator("dis_fast")
    for path, (stage, words) in dataset["bad"].items():
        if "duplicate" in words or "subset" in words:
            continue  # decided across entries / by the DoFn, checked in the job test below
        with pytest.raises(IngestFailure) as caught:
            ingest_video(entry(path), CONFIG, estimator)
        assert caught.value.stage == stage, (path, caught.value.reason)
        assert words in caught.value.reason, (path, caught.value.reason)


def test_ingest_transform_tags_failures_and_keys_records_by_stable_shard(dataset):
    good, bad_path = dataset["good"][:2], next(p for p in dataset["bad"] if p.endswith("empty.avi"))
    with test_pipeline.TestPipeline(runner=LOCAL_RUNNER) as pipeline:
        records, failures = (pipeline | beam.Create(good + [entry(bad_path)]) | IngestVideos(CONFIG))
        keys = records | "Keys" >> beam.Map(lambda kv: (kv[0], kv[1][0], kv[1][2]))
        failed = failures | "Failed" >> beam.Map(lambda d: (d["path"], d["stage"], d["reason"]))
        assert_that(keys, equal_to([(("train", shard_index(e.id, 2)), e.id, 6) for e in good]), label="records")
        assert_that(failed, equal_to([(bad_path, "decode", "file is empty (0 bytes)")]), label="failed")


def test_every_bad_input_is_dead_lettered_once_with_path_and_reason(dataset, ingested):
    output, summary = ingested
    with open(output / DEAD_LETTER_FILE) as f:
        letters = [json.loads(line) for line in f]
    assert sorted(d["path"] for d in letters) == sorted(dataset["bad"])
    for letter in letters:
        stage, words = dataset["bad"][letter["path"]]
        assert letter["stage"] == stage and words in letter["reason"], letter
        assert letter["id"].startswith("toy/")
    assert summary["dead_lettered"] == len(letters)


def test_summary_accounts_for_every_input(dataset, ingested):
    output, summary = ingested
    records = {subset: [decode_record(r) for r in iter_records(str(output), subset)] for subset in ("train", "test")}
    assert summary["inputs"] == len(dataset["all"]) == summary["written"] + summary["dead_lettered"]
    assert summary["counts"] == {"train": 4, "test": 2} == {k: len(v) for k, v in records.items()}
    assert summary["frames"] == sum(len(r.frames) for rs in records.values() for r in rs) == 36
    # Both figures are rounded in the summary (elapsed to 3 decimals, the rate to 2): at 0.45 s,
    # the elapsed time's rounding alone moves the rate by up to 0.11%.
    assert summary["frames_per_s"] == pytest.approx(summary["frames"] / summary["elapsed_s"], rel=1e-2, abs=0.01)
    assert summary["dead_lettered_by_stage"] == {"decode": 6, "validate": 4}
    with open(output / "summary.json") as f:
        assert json.load(f) == summary
    info = read_dataset_info(str(output))
    assert info["counts"] == summary["counts"] and info["classes"] == ["Class0", "Class1"]
    assert info["flow"] == {"algorithm": "dis_fast", "bound": 20.0, "bidirectional": True, "jpeg_quality": 90}
    assert (info["size"], info["stride"], info["max_frames"], info["schema_version"]) == (32, 1, 0, 2)
    # Records land in the shard their id hashes to, in the order of their ids' SHA-256 within it.
    for subset, paths in ((s, list_shards(str(output), s)) for s in ("train", "test")):
        assert [p.rsplit("/", 1)[-1] for p in paths] == [f"{subset}-0000{i}-of-00002.tfrecord" for i in range(2)]
        for index, path in enumerate(paths):
            ids = [decode_record(r.numpy()).id for r in tf.data.TFRecordDataset(path)]
            assert ids == sorted(ids, key=lambda i: hashlib.sha256(i.encode()).digest())
            assert all(shard_index(i, 2) == index for i in ids)


def test_rerun_with_two_worker_processes_gives_byte_identical_outputs(dataset, ingested, tmp_path):
    first, _ = ingested
    ingest(dataset["all"], tmp_path, beam_args=["--direct_num_workers=2"])  # multi-processing default
    names = sorted(n for n in os.listdir(first) if n != "summary.json")
    assert names == sorted(n for n in os.listdir(tmp_path) if n != "summary.json")
    assert any(n.endswith(".tfrecord") for n in names)
    for name in names:
        assert (first / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_tf_data_parses_written_shards_like_the_python_reader(ingested):
    output, _ = ingested
    files = list_shards(str(output), "train")
    parsed = list(tf.data.TFRecordDataset(files).map(parse_record_tf))
    python = [decode_record(r) for r in iter_records(str(output), "train")]
    assert len(parsed) == len(python) == 4
    for tf_record, record in zip(parsed, python):
        assert tf_record["id"].numpy().decode() == record.id
        assert int(tf_record["num_frames"]) == len(tf_record["rgb"]) == 6
        assert (int(tf_record["height"]), int(tf_record["width"])) == (32, 43)
        flow = decode_flow_tf(tf_record["flow_x"], tf_record["flow_y"], tf_record["flow_bound"]).numpy()
        np.testing.assert_allclose(flow, record.flow, atol=1e-5)
        assert len(tf_record["flow_back_x"]) == 5


def test_quantisation_saturates_beyond_the_bound_and_rounds_half_to_even():
    # bound 127.5 makes the map x -> x + 127.5, so every expected byte is plain arithmetic.
    values = [-1000.0, -127.5, -127.0, -126.0, 0.0, 0.4, 1.0, 127.0, 127.5, 1000.0]
    expected = [0, 0, 0, 2, 128, 128, 128, 254, 255, 255]
    flow = np.array(values * 6, np.float64).reshape(3, 2, 5, 2)  # any leading shape, any float
    quantised = quantize_flow(flow, 127.5)
    assert quantised.dtype == np.uint8 and quantised.shape == flow.shape
    assert quantised.reshape(-1).tolist() == expected * 6


def test_quantised_flow_round_trip_stays_within_bound_over_255_plus_jpeg_loss():
    bound = 20.0
    y, x = np.mgrid[0:48, 0:64].astype(np.float32)
    smooth = np.stack([8 * np.sin(x / 13) + 3 * np.cos(y / 9), 6 * np.cos(x / 17 + y / 11)], -1)
    flow = np.stack([smooth, -smooth, smooth * 4])  # the last pair exceeds the bound
    quantisation = np.abs(dequantize_flow(quantize_flow(flow[:2], bound), bound) - flow[:2])
    assert quantisation.max() <= bound / 255 + 1e-5
    frames = np.zeros((4, 48, 64, 3), np.uint8)
    record = decode_record(encode_record(
        id="toy/x", path="x", dataset="toy", label=0, label_name="C", group="g", view=0, fps=25.0,
        frames=frames, flow=flow, flow_bound=bound, flow_algorithm="dis_fast", jpeg_quality=90))
    error = np.abs(record.flow[:2] - flow[:2])
    # JPEG at quality 90 adds ~0.02 px mean, ~0.2 px worst case on smooth fields (measured).
    assert error.mean() <= bound / 255 / 2 + 0.03
    assert error.max() <= bound / 255 + 0.25
    # Beyond the bound, flow saturates at +-bound (JPEG blurs the clipped edge a little).
    saturated = np.abs(flow[2]) > bound + 2
    assert np.abs(record.flow[2][saturated]).min() >= bound - 0.7
    assert record.flow.min() >= -bound and record.flow.max() <= bound


def test_a_job_without_failures_still_publishes_its_empty_dead_letter_file(dataset, tmp_path):
    summary = ingest(dataset["good"][:2], tmp_path)
    assert summary["dead_lettered"] == 0
    with open(summary["dead_letter_file"]) as f:
        assert f.read() == ""


def test_rerun_with_fewer_shards_removes_the_stale_ones(dataset, tmp_path):
    good = dataset["good"][:2]
    ingest(good, tmp_path, IngestConfig(size=32, num_shards=3))
    summary = ingest(good, tmp_path, IngestConfig(size=32, num_shards=1))
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".tfrecord")) == [
        "test-00000-of-00001.tfrecord", "train-00000-of-00001.tfrecord"]
    assert summary["shards"]["train"] == ["train-00000-of-00001.tfrecord"]
    assert sorted(read_dataset_info(str(tmp_path))["shards"]) == summary["shards"]["test"] + summary["shards"]["train"]


def test_lost_inputs_fail_the_job_and_nothing_is_published(dataset, tmp_path):
    good = dataset["good"][:2]
    write_dataset_info(str(tmp_path), {"dataset": "older", "classes": ["C"], "flow": {}})  # an older run's
    with pytest.raises(Exception, match="some videos were lost"):
        with beam.Pipeline(options=pipeline_options(IN_MEMORY)) as pipeline:
            ingested = pipeline | beam.Create(good) | IngestVideos(CONFIG)
            # Claim one more input than was fed in: the finaliser must refuse to publish.
            _ = ingested | WriteIngestOutputs(str(tmp_path), CONFIG, 3, {})
    assert os.listdir(tmp_path)  # the shards were written under their names...
    with pytest.raises(FileNotFoundError, match="dataset_info.json: missing"):
        read_dataset_info(str(tmp_path))  # ...but the commit marker is gone, so readers refuse the folder


def test_config_rejects_bad_values_naming_the_flag():
    with pytest.raises(ValueError, match="--stride"):
        IngestConfig(stride=0)
    with pytest.raises(ValueError, match="--max_frames"):
        IngestConfig(max_frames=1)
    with pytest.raises(ValueError, match="--jpeg_quality"):
        IngestConfig(jpeg_quality=0)
    with pytest.raises(ValueError, match="unknown flow algorithm"):
        IngestConfig(flow="lucas_kanade")


def _written_shards(folder, subsets_indices, num_shards):
    results = []
    for subset, index in subsets_indices:
        final = f"{folder}/{shard_name(subset, index, num_shards)}"
        written = write_shard(final, [(f"toy/{subset}{index}", b"record", 6, "")])
        results.append({"subset": subset, "index": index, "final": final, "records": written.records,
                        "frames": written.frames, "bytes": written.bytes, "crc32c": written.crc32c})
    return results


@pytest.mark.parametrize("indices,words", [
    ([("train", 0), ("test", 0), ("test", 1)], r"missing \['train-00001-of-00002.tfrecord'\]"),
    ([("train", 0), ("train", 1), ("train", 1), ("test", 0), ("test", 1)], r"repeated or out of range \[1\]"),
])
def test_finalize_refuses_shard_results_that_are_not_one_n_of_n_set(tmp_path, indices, words):
    shards = _written_shards(str(tmp_path), indices, 2)
    info = {"num_shards": 2, "dataset": "toy", "classes": ["C"], "flow": {}}
    write_dataset_info(str(tmp_path), {**info, "counts": {"train": 9, "test": 9}})  # an older run's
    with pytest.raises(RuntimeError, match=words):
        finalize_outputs(str(tmp_path), shards, [], len(shards), info)
    assert not os.path.exists(tmp_path / "dataset_info.json")  # no commit marker: nothing published


def test_readers_refuse_a_shard_set_with_a_missing_extra_or_changed_shard(ingested, tmp_path):
    output, _ = ingested
    copy = tmp_path / "records"
    shutil.copytree(output, copy)
    info = read_dataset_info(str(copy))
    assert info["shards"]["train-00000-of-00002.tfrecord"]["bytes"] == os.path.getsize(
        copy / "train-00000-of-00002.tfrecord")
    data = (copy / "train-00000-of-00002.tfrecord").read_bytes()
    assert info["shards"]["train-00000-of-00002.tfrecord"]["crc32c"] == f"{google_crc32c.value(data):08x}"
    verify_published(str(copy), info)  # as published: complete

    os.rename(copy / "train-00001-of-00002.tfrecord", tmp_path / "aside")
    with pytest.raises(ShardSetError, match=r"train shards are not one complete 2-of-2 set: "
                                            r"missing train-00001-of-00002.tfrecord"):
        list_shards(str(copy), "train")
    os.rename(tmp_path / "aside", copy / "train-00001-of-00002.tfrecord")

    shutil.copy(copy / "test-00000-of-00002.tfrecord", copy / "test-00002-of-00003.tfrecord")
    with pytest.raises(ShardSetError, match="extra test-00002-of-00003.tfrecord"):
        verify_published(str(copy), info)
    os.remove(copy / "test-00002-of-00003.tfrecord")

    with open(copy / "test-00001-of-00002.tfrecord", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ShardSetError, match=r"test-00001-of-00002.tfrecord: \d+ bytes on disk"):
        verify_published(str(copy), info)


def test_a_shard_mixes_the_classes_its_ids_name(tmp_path):
    """Ids name their class, so id order would be one class after another; a training reader
    that shuffles 64 records at a time must see most classes in any 64 in a row."""
    ids = [f"v_Class{c}_g{g:02d}_c{k:02d}" for c in range(10) for g in range(5) for k in range(4)]
    path = str(tmp_path / "train-00000-of-00001.tfrecord")
    written = write_shard(path, [(i, i.encode(), 1, "") for i in ids])
    assert (written.records, written.frames, written.partial, written.bytes) == (200, 200, [], os.path.getsize(path))
    order = [r.numpy().decode() for r in tf.data.TFRecordDataset(path)]
    assert sorted(order) == sorted(ids)
    classes = [i.split("_")[1] for i in order]
    assert 1 + sum(a != b for a, b in zip(classes, classes[1:])) > 150  # id order: 10 runs
    assert min(len(set(classes[i:i + 64])) for i in range(len(classes) - 63)) >= 8
