"""The ingest and predict jobs on Beam's portable runner (Prism job server + an SDK worker
pool, separate processes on loopback) give what the local runner gives, byte for byte."""
from __future__ import annotations

import glob
import json
import os

import numpy as np
import pytest

from beam_pipelines import predict, prism_cluster
from beam_pipelines.ingest_transforms import DEAD_LETTER_FILE
from tests.test_ingest import IN_MEMORY, entry, ingest, write_clip
from tests.test_predict import LOCAL, read_lines
from tests.test_serving_fixtures import preprocessing, stream_model, write_test_video
from tfx_models.export.saved_model import export_model

# Fields that say how and where a run went, not what it produced.
RUN_FIELDS = {"elapsed_s", "frames_per_s", "runner", "output", "dead_letter_file",
              "direct_num_workers", "direct_running_mode"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    binary = prism_cluster.binary_path()
    if not os.access(binary, os.X_OK):
        pytest.skip(f"{binary} is missing: build it with `make prism` (.ci/run does before the tests)")
    with prism_cluster.running(str(tmp_path_factory.mktemp("prism"))) as started:
        yield started


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Four good clips over both subsets, a zero-byte file, a text file and a missing path."""
    root = tmp_path_factory.mktemp("videos")
    good = [entry(write_clip(str(root / f"v_C{i % 2}_g{i:02d}_c01.avi"), seed=i),
                  subset="test" if i == 3 else "train", label=i % 2) for i in range(4)]
    (root / "v_C0_g08_c01.avi").write_bytes(b"")
    (root / "v_C1_g09_c01.avi").write_text("not a video\n" * 10)
    bad = [entry(root / "v_C0_g08_c01.avi"), entry(root / "v_C1_g09_c01.avi"),
           entry(root / "v_C0_g10_c01.avi")]
    return good + bad


def _run_fields_removed(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key not in RUN_FIELDS}


def test_ingest_on_the_portable_runner_matches_the_local_runner(cluster, videos, tmp_path):
    workers_before = cluster.workers_started()
    local = ingest(videos, tmp_path / "local", beam_args=IN_MEMORY)
    portable = ingest(videos, tmp_path / "portable", beam_args=cluster.pipeline_flags())
    assert portable["runner"] == "PortableRunner"
    assert cluster.workers_started() > workers_before, "the job did not reach the worker pool"

    assert (portable["inputs"], portable["written"], portable["dead_lettered"]) == (7, 4, 3)
    assert portable["inputs"] == portable["written"] + portable["dead_lettered"]
    assert portable["counts"] == {"train": 3, "test": 1}
    assert _run_fields_removed(portable) == _run_fields_removed(local)

    names = sorted(os.listdir(tmp_path / "local"))
    assert names == sorted(os.listdir(tmp_path / "portable"))
    shards = [name for name in names if name.endswith(".tfrecord")]
    assert len(shards) == 4  # train and test, 2 shards each
    for name in shards + [DEAD_LETTER_FILE, "dataset_info.json"]:
        assert (tmp_path / "portable" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name

    dead = [json.loads(line) for line in (tmp_path / "portable" / DEAD_LETTER_FILE).read_text().splitlines()]
    assert {(os.path.basename(d["path"]), d["stage"]) for d in dead} == {
        ("v_C0_g08_c01.avi", "decode"), ("v_C1_g09_c01.avi", "decode"), ("v_C0_g10_c01.avi", "decode")}


@pytest.fixture(scope="module")
def predict_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    export_model(stream_model("temporal", seed=3), preprocessing(), str(root / "models"), "temporal")
    (root / "videos").mkdir()
    write_test_video(root / "videos" / "a.mp4", seed=1)
    write_test_video(root / "videos" / "b.avi", seed=2)
    (root / "videos" / "empty.avi").write_bytes(b"")
    return root


def test_predict_on_the_portable_runner_matches_the_local_runner(cluster, predict_inputs):
    root = predict_inputs
    common = ["--model_dir", str(root / "models" / "temporal"), "--videos", str(root / "videos"),
              "--num_frames", "3", "--crops", "2"]
    outputs = {"local": str(root / "local" / "run"), "portable": str(root / "portable" / "run")}
    counts = {"local": predict.run(common + ["--output", outputs["local"], *LOCAL]),
              "portable": predict.run(common + ["--output", outputs["portable"], *cluster.pipeline_flags()])}
    assert counts["portable"] == counts["local"]
    assert (counts["portable"]["inputs"], counts["portable"]["predictions"], counts["portable"]["dead_letter"]) \
        == (3, 2, 1)
    rows = {run: sorted((json.loads(line) for line in read_lines(out + "-predictions-*.jsonl")),
                        key=lambda row: row["path"]) for run, out in outputs.items()}
    assert [row["path"] for row in rows["portable"]] == [str(root / "videos" / n) for n in ("a.mp4", "b.avi")]
    for ours, theirs in zip(rows["portable"], rows["local"]):
        assert [t["class"] for t in ours["top"]] == [t["class"] for t in theirs["top"]]
        np.testing.assert_allclose(ours["probabilities"], theirs["probabilities"], rtol=1e-6, atol=1e-7)
    dead = {run: read_lines(out + "-dead_letter-*.jsonl") for run, out in outputs.items()}
    assert dead["portable"] == dead["local"] and len(dead["portable"]) == 1
    assert glob.glob(outputs["portable"] + "-summary.json")


def _need_binary():
    binary = prism_cluster.binary_path()
    if not os.access(binary, os.X_OK):
        pytest.skip(f"{binary} is missing: build it with `make prism`")


def test_stop_leaves_no_process_behind_and_a_second_start_is_refused(tmp_path):
    _need_binary()
    cluster = prism_cluster.start(str(tmp_path))
    pids = [cluster.prism_pid, cluster.pool_pid]
    try:
        assert all(os.path.exists(f"/proc/{pid}") for pid in pids)
        with pytest.raises(RuntimeError, match="still running: stop it first"):
            prism_cluster.start(str(tmp_path))
    finally:
        prism_cluster.stop(cluster)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)
    assert not os.path.exists(tmp_path / prism_cluster.STATE_FILE)


def test_a_job_server_that_dies_at_start_is_reported_with_its_log(tmp_path):
    fake = tmp_path / "prism"
    fake.write_text("#!/bin/sh\necho cannot bind the job port >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(RuntimeError, match=r"(?s)prism job server on port \d+ exited with 3.*cannot bind"):
        prism_cluster.start(str(tmp_path), binary=str(fake), attempts=1)
    assert not os.path.exists(tmp_path / prism_cluster.STATE_FILE)
