"""The record-set verifier and the Beam jobs on damaged records: each damage is named, by shard and
by the first damaged record's byte offset, in one line; nothing is published."""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys

import pytest

from beam_pipelines.ingest import run_ingest
from beam_pipelines.options import pipeline_options
from beam_pipelines.verify import verify
from tests.test_ingest import CONFIG, IN_MEMORY, entry, write_clip

HEADER = 12  # a record's length (8 bytes) and its CRC (4): media/tfrecord.py's framing, worked by hand


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Eight clips in 2 + 2 shards, a video of their own in each shard."""
    root = tmp_path_factory.mktemp("videos")
    clips = [entry(write_clip(str(root / f"v_C{i % 2}_g{i:02d}_c01.avi"), seed=i), label=i % 2,
                   subset="test" if i >= 6 else "train") for i in range(8)]
    output = tmp_path_factory.mktemp("records")
    config = CONFIG.__class__(**{**CONFIG.__dict__, "num_shards": 2})
    run_ingest(clips, str(output), config, pipeline_options(IN_MEMORY), dataset="toy", data_format="csv",
               split=1, classes=["Class0", "Class1"])
    (root / "videos.csv").write_text("path,label,split\n" + "".join(
        f"{c.path},{c.label_name},{c.subset}\n" for c in clips))
    return output


def copy_of(published, tmp_path):
    folder = tmp_path / "records"
    shutil.copytree(published, folder)
    return folder


def record_offsets(path) -> list[int]:
    """Where each record starts, read from the lengths in the file itself."""
    data, offsets, at = path.read_bytes(), [], 0
    while at < len(data):
        offsets.append(at)
        (length,) = struct.unpack_from("<Q", data, at)
        at += HEADER + length + 4
    return offsets


def flip(path, position: int, count: int = 50) -> None:
    data = bytearray(path.read_bytes())
    for i in range(position, position + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def damage_every_way(folder) -> dict[str, tuple[str, str]]:
    """One shard each: flipped bytes in its second record, cut short, grown, deleted; name -> (kind, words)."""
    flipped = folder / "train-00000-of-00002.tfrecord"
    second = record_offsets(flipped)[1]
    flip(flipped, second + HEADER + 100)
    short = folder / "train-00001-of-00002.tfrecord"
    last = record_offsets(short)[-1]
    short.write_bytes(short.read_bytes()[:last + HEADER + 7])
    grown = folder / "test-00000-of-00002.tfrecord"
    size = grown.stat().st_size
    grown.write_bytes(grown.read_bytes() + b"\0" * 10)
    os.remove(folder / "test-00001-of-00002.tfrecord")
    return {flipped.name: ("altered", f"first damaged record at byte {second}: corrupted: the data's checksum"),
            short.name: ("short", f"first damaged record at byte {last}: truncated: 7 of"),
            grown.name: ("long", f"first damaged record at byte {size}: truncated: 10 of the header's 12 bytes"),
            "test-00001-of-00002.tfrecord": ("missing", "listed in dataset_info.json but not there")}


def test_the_verifier_passes_a_whole_set_and_names_exactly_the_damaged_shards(published, tmp_path):
    assert verify(str(published))["problems"] == []
    folder = copy_of(published, tmp_path)
    want = damage_every_way(folder)
    got = {p["path"].rsplit("/", 1)[-1]: p for p in verify(str(folder))["problems"]}
    assert sorted(got) == sorted(want)
    for name, (kind, words) in want.items():
        assert got[name]["kind"] == kind and words in got[name]["detail"], got[name]


def test_same_size_damage_is_found_by_the_checksum_and_not_by_sizes_alone(published, tmp_path):
    folder = copy_of(published, tmp_path)
    flip(folder / "test-00000-of-00002.tfrecord", 200, count=1)
    assert verify(str(folder), sizes_only=True)["problems"] == []
    [problem] = verify(str(folder))["problems"]
    assert problem["kind"] == "altered" and "CRC32C" in problem["detail"]


def test_the_command_prints_a_line_per_damaged_shard_and_exits_2(published, tmp_path):
    folder = copy_of(published, tmp_path)
    want = damage_every_way(folder)
    result = subprocess.run([sys.executable, "-m", "beam_pipelines.verify", "--records", str(folder)],
                            capture_output=True, text=True, timeout=300)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == len(want) + 1 and json.loads(lines[-1])["damaged"] == len(want)
    clean = subprocess.run([sys.executable, "-m", "beam_pipelines.verify", "--records", str(published)],
                           capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0 and json.loads(clean.stdout)["damaged"] == 0


def resplit_cli(records, manifest, output, *flags) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "beam_pipelines.resplit", "--records", str(records),
                           "--format", "csv", "--manifest", str(manifest), "--split", "1", "--output", str(output),
                           *flags], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("damage,words", [
    ("flipped", "record at byte {offset}: corrupted: the data's checksum does not match"),
    ("truncated", "bytes on disk, dataset_info.json says"),
    ("grown", "bytes on disk, dataset_info.json says"),
    ("unlisted", "not one complete 2-of-2 set: missing train-00000-of-00002.tfrecord"),
])
def test_resplit_stops_on_damaged_records_with_one_line_and_publishes_nothing(published, tmp_path, damage, words):
    folder = copy_of(published, tmp_path)
    shard = folder / "train-00000-of-00002.tfrecord"
    offset = record_offsets(shard)[1]
    if damage == "flipped":
        flip(shard, offset + HEADER + 100)
    elif damage == "truncated":
        shard.write_bytes(shard.read_bytes()[:offset + 50])
    elif damage == "grown":
        shard.write_bytes(shard.read_bytes() + b"\0")
    else:
        os.remove(shard)
    manifest = [p for p in published.parent.glob("videos*/videos.csv")][0]
    result = resplit_cli(folder, manifest, tmp_path / "out")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("error: ") and words.format(offset=offset) in lines[0], lines[0]
    if damage != "unlisted":
        assert str(shard) in lines[0]
    assert not (tmp_path / "out" / "dataset_info.json").exists()
