"""Damaged record sets end training and evaluation with one `error:` line naming the shard (exit 2):
flipped bytes, a cut-off shard, a shard of the wrong size, a listed shard that is not there, at the
start of a run or met mid-run; and data.skip_corrupt counts what it skips and stops past its share.

Expectations are worked out here from the bytes written (struct, google_crc32c), not with the
readers under test."""
import json
import os
import shutil
import struct

import google_crc32c
import pytest

from tests.test_train_support import python, write_records
from tfx_models import runs

DEMO = "tfx_models/experiments/demo_spatial.py"
VIDEOS_PER_CLASS, CLASSES, SHARDS = 4, ["a", "b", "c"], 2
PER_SHARD = VIDEOS_PER_CLASS * len(CLASSES) // SHARDS  # write_shards deals records round-robin
SHARD0 = "train-00000-of-00002.tfrecord"
TEST0 = "test-00000-of-00002.tfrecord"


def publish(record_dir: str) -> str:
    """Lists every shard's records, bytes and CRC32C in dataset_info.json, as the ingest job does."""
    path = os.path.join(record_dir, "dataset_info.json")
    with open(path) as f:
        info = json.load(f)
    info["num_shards"] = SHARDS
    info["shards"] = {}
    for name in sorted(os.listdir(record_dir)):
        if name.endswith(".tfrecord"):
            with open(os.path.join(record_dir, name), "rb") as f:
                data = f.read()
            info["shards"][name] = {"records": PER_SHARD, "bytes": len(data),
                                    "crc32c": google_crc32c.Checksum(data).hexdigest().decode()}
    with open(path, "w") as f:
        json.dump(info, f)
    return record_dir


def record_offsets(path: str) -> list[int]:
    """Where each record starts: length (8 bytes), its CRC (4), data, data CRC (4)."""
    with open(path, "rb") as f:
        data = f.read()
    offsets, at = [], 0
    while at < len(data):
        offsets.append(at)
        at += 16 + struct.unpack_from("<Q", data, at)[0]
    return offsets


def flip_record(path: str, index: int) -> int:
    """Flips 50 bytes inside record `index`'s data; returns that record's offset."""
    start = record_offsets(path)[index]
    with open(path, "r+b") as f:
        f.seek(start + 40)
        chunk = f.read(50)
        f.seek(start + 40)
        f.write(bytes(b ^ 0xFF for b in chunk))
    return start


def cut_in_half(path: str) -> None:
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def append_bytes(path: str) -> None:
    with open(path, "ab") as f:
        f.write(b"\0" * 100)


def remove(path: str) -> None:
    os.remove(path)


def one_error_line(result) -> str:
    """The single `error:` line of a failed command; no traceback."""
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    return errors[0]


def train_command(records: str, run_dir: str, *extra: str) -> list[str]:
    return ["-m", "tfx_models.train", "--config", DEMO, "--run_dir", run_dir, "--set", f"data.records={records}",
            "--set", "data.crop_size=32", "--set", "model.width=0.125", "--set", "train.batch_size=4",
            "--set", "train.checkpoint_every=2", "--set", "train.log_every=2", *extra]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A published record set and a spatial run trained on it for 2 steps."""
    root = tmp_path_factory.mktemp("clean")
    records = publish(write_records(str(root / "records"), "tiny", CLASSES, videos_per_class=VIDEOS_PER_CLASS))
    run_dir = str(root / "run")
    result = python(train_command(records, run_dir, "--set", "train.steps=2"))
    assert result.returncode == 0, result.stderr[-3000:]
    return records, run_dir


def damaged_copy(clean_records: str, tmp_path, damage, shard: str) -> tuple[str, str]:
    records = str(tmp_path / "records")
    shutil.copytree(clean_records, records)
    path = os.path.join(records, shard)
    damage(path)
    return records, path


START_DAMAGE = [(cut_in_half, "short"), (append_bytes, "long"), (remove, "missing")]


@pytest.mark.parametrize("damage, kind", START_DAMAGE, ids=[kind for _, kind in START_DAMAGE])
def test_training_refuses_a_damaged_set_at_the_start(clean, tmp_path, damage, kind):
    records, path = damaged_copy(clean[0], tmp_path, damage, SHARD0)
    line = one_error_line(python(train_command(records, str(tmp_path / "run"), "--set", "train.steps=2")))
    assert f"{path}: {kind}:" in line
    assert not os.path.exists(runs.checkpoint_dir(str(tmp_path / "run")))


def test_training_with_verify_names_altered_shards_before_the_first_step(clean, tmp_path):
    records, path = damaged_copy(clean[0], tmp_path, lambda p: None, SHARD0)
    offset = flip_record(path, 2)
    test_path = os.path.join(records, TEST0)
    test_offset = flip_record(test_path, 0)
    line = one_error_line(python(train_command(records, str(tmp_path / "run"), "--set", "train.steps=2",
                                               "--set", "data.verify=true")))
    assert "2 damaged shards" in line
    assert f"{path}: altered: CRC32C" in line and f"first damaged record at byte {offset}: corrupted" in line
    assert f"{test_path}: altered: CRC32C" in line and f"record at byte {test_offset}" in line


def test_flipped_bytes_met_mid_run_name_shard_offset_and_newest_checkpoint(tmp_path):
    records = publish(write_records(str(tmp_path / "records"), "tiny", CLASSES, videos_per_class=VIDEOS_PER_CLASS))
    run_dir = str(tmp_path / "run")
    assert python(train_command(records, run_dir, "--set", "train.steps=2")).returncode == 0
    path = os.path.join(records, SHARD0)
    offset = flip_record(path, 1)
    line = one_error_line(python(train_command(records, run_dir, "--set", "train.steps=6")))
    assert line.startswith(f"error: {path}: record at byte {offset}: corrupted: the data's checksum does not match;")
    assert f"newest complete checkpoint: {runs.checkpoint_dir(run_dir)}/ckpt-2 (step 2)" in line
    assert "data.skip_corrupt=true" in line


def test_a_cut_off_shard_of_an_unlisted_set_is_named_mid_run(tmp_path):
    # Older sets list no shard sizes: the start check cannot see the cut, the iterator meets it.
    records = write_records(str(tmp_path / "records"), "tiny", CLASSES, videos_per_class=VIDEOS_PER_CLASS)
    path = os.path.join(records, SHARD0)
    half = os.path.getsize(path) // 2
    cut_at = max(o for o in record_offsets(path) if o < half)
    cut_in_half(path)
    line = one_error_line(python(train_command(records, str(tmp_path / "run"), "--set", "train.steps=4")))
    assert line.startswith(f"error: {path}: record at byte {cut_at}: truncated:")
    assert "no complete checkpoint yet" in line


def test_skip_corrupt_counts_what_it_skips_and_stops_past_its_share(clean, tmp_path):
    records, path = damaged_copy(clean[0], tmp_path, lambda p: None, SHARD0)
    offset = flip_record(path, 2)
    lost = PER_SHARD - 2  # a reader cannot resync: the damaged record and every one after it
    total = VIDEOS_PER_CLASS * len(CLASSES)

    line = one_error_line(python(train_command(records, str(tmp_path / "stopped"), "--set", "train.steps=4",
                                               "--set", "data.skip_corrupt=true")))
    assert f"{lost} of {total} records ({100 * lost / total:.1f}%) would be skipped, over " \
           "data.max_corrupt_share=0.01" in line
    assert f"{path}: record at byte {offset}: corrupted" in line

    run_dir = str(tmp_path / "run")
    result = python(train_command(records, run_dir, "--set", "train.steps=4", "--set", "data.skip_corrupt=true",
                                  "--set", "data.max_corrupt_share=0.5"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"skipping {lost} of {total} training records" in result.stdout
    assert f"done: step 4, " in result.stdout and f"{lost} damaged training records skipped" in result.stdout
    skipped = runs.read_run_info(run_dir)["skipped_records"]
    assert skipped["lost"] == lost and skipped["records"] == total
    assert skipped["shards"] == {path: {"offset": offset, "problem": "corrupted: the data's checksum does not match",
                                        "readable": 2, "lost": lost}}


def evaluate(run_dir: str, records: str, out: str, *extra: str):
    return python(["-m", "tfx_models.evaluate", "--spatial", run_dir, "--records", records, "--out", out,
                   "--num_frames", "1", "--crops", "1", "--no_svm", *extra])


@pytest.mark.parametrize("damage, kind", START_DAMAGE, ids=[kind for _, kind in START_DAMAGE])
def test_evaluation_refuses_a_damaged_set_at_the_start(clean, tmp_path, damage, kind):
    records, path = damaged_copy(clean[0], tmp_path, damage, TEST0)
    line = one_error_line(evaluate(clean[1], records, str(tmp_path / "out")))
    assert f"{path}: {kind}:" in line
    assert not os.path.exists(tmp_path / "out")


def test_evaluation_names_flipped_bytes_mid_run_and_with_verify_at_the_start(clean, tmp_path):
    records, path = damaged_copy(clean[0], tmp_path, lambda p: None, TEST0)
    offset = flip_record(path, 1)
    line = one_error_line(evaluate(clean[1], records, str(tmp_path / "out")))
    assert line == f"error: {path}: record at byte {offset}: corrupted: the data's checksum does not match"
    line = one_error_line(evaluate(clean[1], records, str(tmp_path / "out2"), "--verify"))
    assert f"1 damaged shard: {path}: altered: CRC32C" in line


def test_the_clean_set_evaluates(clean, tmp_path):
    result = evaluate(clean[1], clean[0], str(tmp_path / "out"), "--verify")
    assert result.returncode == 0, result.stderr[-3000:]
