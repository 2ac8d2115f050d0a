"""beam_pipelines.predict: RunInference over real video files, with dead letters for bad ones."""
from __future__ import annotations

import csv
import glob
import json

import numpy as np
import pytest

from beam_pipelines import predict
from tfx_models.export.contract import resolve_export
from tfx_models.data.video_file import video_test_inputs
from tests.test_serving_fixtures import CLASSES, preprocessing, stream_model, write_test_video
from tfx_models.export.saved_model import export_model

# In-process runner: one worker keeps the test small; the job's default is one process per core.
LOCAL = ["--direct_running_mode", "in_memory", "--direct_num_workers", "1"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    model = stream_model("temporal", seed=2)
    export_model(model, preprocessing(), str(root / "models"), "temporal")
    videos = root / "videos"
    (videos / "sub").mkdir(parents=True)
    good = [write_test_video(videos / "a.mp4", seed=1), write_test_video(videos / "sub" / "b.avi", seed=2)]
    (videos / "empty.avi").write_bytes(b"")
    (videos / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    short = write_test_video(videos / "short.mp4", count=1)
    (videos / "notes.txt").write_text("not a video")
    return root, model, good, short


def read_lines(pattern: str) -> list[str]:
    return [line for path in sorted(glob.glob(pattern)) for line in open(path).read().splitlines()]


def test_predictions_and_dead_letters_account_for_every_video(setup):
    root, model, good, short = setup
    output = str(root / "out" / "run")
    counts = predict.run(["--model_dir", str(root / "models" / "temporal"), "--videos", str(root / "videos"),
                          "--output", output, "--num_frames", "3", "--crops", "2", *LOCAL])
    assert counts["inputs"] == 5 and counts["model"].endswith("temporal/1")
    rows = [json.loads(line) for line in read_lines(output + "-predictions-*.jsonl")]
    dead = [json.loads(line) for line in read_lines(output + "-dead_letter-*.jsonl")]
    assert (counts["predictions"], counts["dead_letter"]) == (len(rows), len(dead)) == (2, 3)
    assert sorted(r["path"] for r in rows) == sorted(good)
    assert json.load(open(output + "-summary.json")) == counts
    reasons = {d["path"].rsplit("/", 1)[1]: (d["stage"], d["reason"]) for d in dead}
    assert reasons["empty.avi"] == ("decode", "file is empty (0 bytes)")
    assert reasons["corrupt.mp4"][0] == "decode"
    assert reasons["short.mp4"] == ("validate", "too short: 1 frame(s), the temporal stream needs at least 2")
    for row in rows:  # same scores as the serving client's inputs through the in-memory model
        inputs = video_test_inputs(row["path"], preprocessing(), num_frames=3, crops=2)
        expected = np.asarray(model(inputs)["probabilities"]).mean(axis=0)
        np.testing.assert_allclose(row["probabilities"], expected, rtol=1e-4, atol=1e-6)
        assert row["top"][0]["class"] == CLASSES[int(np.argmax(expected))]


def test_manifest_and_csv_output(setup):
    root, _, good, _ = setup
    manifest = root / "manifest.csv"
    manifest.write_text("path,label\nvideos/a.mp4,0\n" + f"{good[1]},1\n")
    output = str(root / "csv" / "run")
    counts = predict.run(["--model_dir", resolve_export(str(root / "models" / "temporal")),
                          "--manifest", str(manifest), "--output", output, "--format", "csv", "--top", "2",
                          "--num_frames", "2", "--crops", "1", *LOCAL])
    assert (counts["predictions"], counts["dead_letter"]) == (2, 0)
    [path] = glob.glob(output + "-predictions-*.csv")
    table = list(csv.DictReader(open(path)))
    assert sorted(r["path"] for r in table) == sorted(good)
    assert list(table[0]) == ["path", "class_1", "score_1", "class_2", "score_2"]
    assert all(r["class_1"] in CLASSES and 0 < float(r["score_1"]) <= 1 for r in table)


def test_bad_manifest_and_model_dir_errors_name_the_file(setup, tmp_path):
    root, _, _, _ = setup
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\nvideos/a.mp4,0\n,1\n")
    with pytest.raises(ValueError, match=r"m.csv: line 3: empty 'path'"):
        predict.read_manifest(str(manifest))
    manifest.write_text("file\nvideos/a.mp4\n")
    with pytest.raises(ValueError, match=r"m.csv: line 1: the header needs a 'path' column"):
        predict.read_manifest(str(manifest))
    with pytest.raises(FileNotFoundError, match="neither a SavedModel nor a folder of integer versions"):
        resolve_export(str(tmp_path))
    assert predict.main(["--model_dir", str(tmp_path), "--videos", str(root / "videos"),
                         "--output", str(tmp_path / "o")]) == 2


def test_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit) as info:
        predict.parse_args(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--model_dir" in out and "--manifest" in out and "--format" in out
