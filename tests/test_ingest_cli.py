"""`python -m beam_pipelines.ingest` end to end on a tiny UCF-101 layout."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from beam_pipelines import ingest
from media.flow import end_point_error
from media.records import decode_record
from media.shards import iter_records, read_dataset_info
from tests.test_ingest import write_clip

CLASSES = ["Jump", "Wave"]


@pytest.fixture(scope="module")
def ucf_root(tmp_path_factory):
    """UCF-101 as the archives unpack: 2 classes x 2 groups; one listed test clip is missing."""
    root = tmp_path_factory.mktemp("ucf101")
    lists = root / "ucfTrainTestlist"
    os.makedirs(lists)
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {name}\n" for i, name in enumerate(CLASSES)))
    train, test = [], []
    for label, name in enumerate(CLASSES):
        os.makedirs(root / "UCF-101" / name)
        for group in (1, 2):
            clip = f"{name}/v_{name}_g{group:02d}_c01.avi"
            write_clip(str(root / "UCF-101" / clip), frames=4, seed=label * 10 + group)
            (train if group == 2 else test).append((clip, label + 1))
    test.append(("Wave/v_Wave_g03_c01.avi", 2))  # listed, never written
    (lists / "trainlist01.txt").write_text("".join(f"{clip} {label}\n" for clip, label in train))
    (lists / "testlist01.txt").write_text("".join(f"{clip}\n" for clip, _ in test))
    return root


def test_cli_writes_shards_info_dead_letters_and_prints_the_summary(ucf_root, tmp_path, capsys):
    output = tmp_path / "records"
    summary = ingest.run(["--format", "ucf101", "--root", str(ucf_root), "--split", "1",
                          "--output", str(output), "--flow", "farneback", "--size", "32",
                          "--num_shards", "1", "--direct_running_mode=in_memory"])
    assert json.loads(capsys.readouterr().out) == summary
    assert (summary["inputs"], summary["written"], summary["dead_lettered"]) == (5, 4, 1)
    assert summary["counts"] == {"train": 2, "test": 2}
    assert summary["frames"] == 16
    # Both figures are rounded in the summary (elapsed to 3 decimals, the rate to 2).
    assert summary["frames_per_s"] == pytest.approx(16 / summary["elapsed_s"], rel=1e-2, abs=0.01)
    info = read_dataset_info(str(output))
    assert (info["dataset"], info["format"], info["split"], info["classes"]) == ("ucf101", "ucf101", 1, CLASSES)
    assert info["flow"]["algorithm"] == "farneback" and info["flow"]["bidirectional"] is False
    test_records = [decode_record(r) for r in iter_records(str(output), "test")]
    assert sorted((r.label_name, r.group, r.label) for r in test_records) == [("Jump", "g01", 0), ("Wave", "g01", 1)]
    assert all(r.backward_flow is None and r.frames.shape[1] == 32 for r in test_records)
    letter = json.loads((output / "dead_letter-00000-of-00001.jsonl").read_text())
    assert letter["path"].endswith("UCF-101/Wave/v_Wave_g03_c01.avi") and "does not exist" in letter["reason"]


def test_cli_limit_ingests_only_the_first_entries(ucf_root, tmp_path, capsys):
    summary = ingest.run(["--format", "ucf101", "--root", str(ucf_root), "--output", str(tmp_path),
                          "--flow", "dis_ultrafast", "--size", "0", "--limit", "2", "--bidirectional",
                          "--direct_running_mode=in_memory"])
    assert (summary["inputs"], summary["written"]) == (2, 2)
    record = decode_record(next(iter_records(str(tmp_path), "train")))
    assert record.frames.shape[1:3] == (48, 64) and record.backward_flow.shape == record.flow.shape


@pytest.mark.parametrize("args, words", [
    (["--root", "ROOT", "--split", "2"], "trainlist02.txt"),
    (["--root", "ROOT", "--stride", "0"], "--stride must be >= 1"),
    (["--flow", "dis"], "give --root DIR or --manifest FILE"),
])
def test_cli_rejects_bad_arguments_naming_what_is_wrong(ucf_root, tmp_path, capsys, args, words):
    args = [str(ucf_root) if a == "ROOT" else a for a in args]
    with pytest.raises(SystemExit) as caught:
        ingest.run(["--format", "ucf101", "--output", str(tmp_path), *args])
    assert caught.value.code == 2
    assert words in capsys.readouterr().err


def test_ingest_module_answers_help(capsys):
    with pytest.raises(SystemExit) as caught:
        ingest.run(["--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--format", "--root", "--manifest", "--flow", "--bidirectional", "--num_shards", "--limit"):
        assert flag in text


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """The synthetic benchmark's tiny profile: real encoded clips with exact flow."""
    from beam_pipelines.synth.__main__ import main

    out = tmp_path_factory.mktemp("synth")
    main(["--out", str(out), "--seed", "0", "--profile", "tiny"])
    return out


def test_cli_on_synthetic_hmdb51_stores_flow_close_to_the_true_flow(synth, tmp_path, capsys):
    summary = ingest.run(["--format", "hmdb51", "--root", str(synth / "hmdb51"), "--split", "1",
                          "--output", str(tmp_path), "--flow", "dis_medium", "--size", "0",
                          "--num_shards", "2", "--direct_running_mode=in_memory"])
    # Every video the split files use (1 = train, 2 = test; 0 = unused), read here line by line.
    split_lines = [line.split() for name in os.listdir(synth / "hmdb51" / "testTrainMulti_7030_splits")
                   if name.endswith("_split1.txt")
                   for line in open(synth / "hmdb51" / "testTrainMulti_7030_splits" / name)]
    used = sum(1 for fields in split_lines if fields[1] in ("1", "2"))
    assert used >= 10 and summary["dead_lettered"] == 0 and summary["written"] == summary["inputs"] == used
    stored, still = [], []
    for subset in ("train", "test"):
        for raw in iter_records(str(tmp_path), subset):
            record = decode_record(raw)
            stem = os.path.splitext(os.path.basename(record.path))[0]
            with np.load(synth / "groundtruth" / "hmdb51" / f"{stem}.npz") as truth:
                flow, valid = truth["flow"].astype(np.float32), truth["valid"]
            stored.append(end_point_error(record.flow, flow, valid))
            still.append(end_point_error(np.zeros_like(flow), flow, valid))
    assert len(stored) == summary["written"]
    # Measured ~0.24 px against ~1.0 px for "no motion": direction and scale survive storage.
    assert np.mean(stored) < 0.5 * np.mean(still)
