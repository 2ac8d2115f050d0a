"""The ingest and re-split jobs on Beam's DaskRunner, against a dask.distributed scheduler and
two worker processes on loopback, give what the local runner gives, byte for byte; each
video is decoded and flowed once; the prediction job refuses the runner."""
from __future__ import annotations

import collections
import json
import os

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import StandardOptions

pytest.importorskip("distributed", reason="dask is not installed (pip install -r requirements.txt)")

from beam_pipelines import dask_cluster, predict, resplit  # noqa: E402
from beam_pipelines.datasets import load_class_names, load_entries  # noqa: E402
from beam_pipelines.ingest import run_ingest  # noqa: E402
from beam_pipelines.ingest_transforms import DEAD_LETTER_FILE, IngestConfig  # noqa: E402
from beam_pipelines.options import DASK_RUNNER, pipeline_options  # noqa: E402
from beam_pipelines.synth import generate  # noqa: E402
from tests.test_ingest import IN_MEMORY, entry  # noqa: E402
from tests.test_prism_runner import RUN_FIELDS  # noqa: E402

CALLS_LOG = "INGEST_CALLS_LOG"  # read by tests/dask_call_counter.py in each worker


@pytest.fixture(scope="module")
def calls_log(tmp_path_factory):
    return tmp_path_factory.mktemp("calls") / "ingest_video.log"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, calls_log):
    before = os.environ.get(CALLS_LOG)
    os.environ[CALLS_LOG] = str(calls_log)  # the workers inherit it at start
    try:
        with dask_cluster.running(str(tmp_path_factory.mktemp("dask")), workers=2,
                                  preload=["tests.dask_call_counter"]) as started:
            yield started
    finally:
        if before is None:
            del os.environ[CALLS_LOG]
        else:
            os.environ[CALLS_LOG] = before


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory):
    """The root of the tiny synthetic benchmark's UCF-101 layout (30 clips in split 1)."""
    out = tmp_path_factory.mktemp("synth")
    generate(str(out), seed=0, profile="tiny")
    return str(out / "ucf101")


@pytest.fixture(scope="module")
def videos(benchmark, tmp_path_factory):
    """The benchmark's clips, then an empty, a text and a truncated file and a missing path."""
    good = load_entries("ucf101", split=1, root=benchmark)
    bad = tmp_path_factory.mktemp("bad")
    (bad / "empty.avi").write_bytes(b"")
    (bad / "notes.avi").write_text("not a video\n" * 10)
    with open(good[0].path, "rb") as f:
        data = f.read()
    (bad / "truncated.avi").write_bytes(data[:len(data) * 2 // 5])
    return good + [entry(bad / name, subset=subset) for name, subset in
                   (("empty.avi", "train"), ("notes.avi", "test"), ("truncated.avi", "train"),
                    ("missing.avi", "test"))]


@pytest.fixture(scope="module")
def ingested(cluster, benchmark, videos, calls_log, tmp_path_factory):
    """The same files ingested by the local runner and on the Dask cluster."""
    root = tmp_path_factory.mktemp("ingest")
    classes = load_class_names("ucf101", root=benchmark)

    def ingest(output, beam_args):
        return run_ingest(videos, str(output), IngestConfig(flow="dis_fast", size=0, num_shards=2),
                          pipeline_options(beam_args), dataset="ucf101", data_format="ucf101", split=1,
                          classes=classes)

    local = ingest(root / "local", IN_MEMORY)
    calls_log.write_text("")
    return root, local, ingest(root / "dask", cluster.pipeline_flags())


def _run_fields_removed(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key not in RUN_FIELDS}


def _same_files(ours, theirs, except_names=("summary.json",)) -> None:
    names = sorted(os.listdir(theirs))
    assert sorted(os.listdir(ours)) == names
    for name in names:
        if name not in except_names:
            assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name


def test_ingest_on_dask_matches_the_local_runner_byte_for_byte(ingested):
    root, local, dask = ingested
    assert dask["runner"] == DASK_RUNNER
    assert (dask["inputs"], dask["written"], dask["dead_lettered"]) == (34, 30, 4)
    assert dask["inputs"] == dask["written"] + dask["dead_lettered"]
    assert dask["counts"] == {"train": 20, "test": 10}
    assert _run_fields_removed(dask) == _run_fields_removed(local)
    assert len([name for name in os.listdir(root / "dask") if name.endswith(".tfrecord")]) == 4
    _same_files(root / "dask", root / "local")  # shards, dead letters, dataset_info.json
    letters = [json.loads(line) for line in (root / "dask" / DEAD_LETTER_FILE).read_text().splitlines()]
    assert {(os.path.basename(d["path"]), d["stage"]) for d in letters} == {
        ("empty.avi", "decode"), ("notes.avi", "decode"), ("truncated.avi", "decode"), ("missing.avi", "decode")}


def test_dask_decodes_and_flows_each_video_once_spread_over_both_workers(ingested, videos, calls_log):
    calls = [line.split(" ", 1) for line in calls_log.read_text().splitlines()]
    # Every entry reaches the per-video function (the missing path fails inside it), once.
    assert collections.Counter(path for _, path in calls) == collections.Counter(v.path for v in videos)
    assert len({pid for pid, _ in calls}) == 2


def test_resplit_on_dask_matches_the_local_runner_byte_for_byte(cluster, ingested, benchmark, tmp_path):
    root, _, _ = ingested
    common = ["--records", str(root / "local"), "--format", "ucf101", "--root", benchmark, "--split", "2"]
    local = resplit.run(common + ["--output", str(tmp_path / "local"), *IN_MEMORY])
    dask = resplit.run(common + ["--output", str(tmp_path / "dask"), *cluster.pipeline_flags()])
    assert (dask["inputs"], dask["written"], dask["dead_lettered"]) == (30, 30, 0)
    assert _run_fields_removed(dask) == _run_fields_removed(local)
    _same_files(tmp_path / "dask", tmp_path / "local")


def _dead_or_alive(number: int):
    if number % 3 == 0:
        yield beam.pvalue.TaggedOutput("dead", number)
    else:
        yield number


def _write_count(kv: tuple[str, int], folder: str) -> None:
    with open(f"{folder}/{kv[0]}", "w") as f:
        f.write(str(kv[1]))


def test_beams_dask_runner_still_hands_every_tagged_output_to_every_consumer(cluster, tmp_path):
    """Why the jobs route by value (beam_pipelines.gather): when this fails, Beam has fixed the
    DaskRunner, and the jobs' splits of tagged tuples could become with_outputs again."""
    with beam.Pipeline(options=pipeline_options(cluster.pipeline_flags())) as pipeline:
        out = pipeline | beam.Create(range(30)) | beam.FlatMap(_dead_or_alive).with_outputs("dead", main="ok")
        _ = ((out.ok | "Ok" >> beam.Map(lambda _: ("ok", 1)), out.dead | "Dead" >> beam.Map(lambda _: ("dead", 1)))
             | beam.Flatten() | beam.CombinePerKey(sum) | beam.Map(_write_count, str(tmp_path)))
    assert ((tmp_path / "ok").read_text(), (tmp_path / "dead").read_text()) == ("30", "30")  # not 20 and 10


def test_the_short_runner_name_gets_our_runner_and_one_element_per_partition():
    from apache_beam.runners.dask.dask_runner import DaskOptions

    options = pipeline_options(["--runner=DaskRunner", "--dask_client_address=tcp://127.0.0.1:1"])
    assert options.view_as(StandardOptions).runner == DASK_RUNNER
    assert (options.view_as(DaskOptions).partition_size, options.view_as(DaskOptions).address) == (
        1, "tcp://127.0.0.1:1")
    given = pipeline_options(["--runner=DaskRunner", "--dask_npartitions=4"]).view_as(DaskOptions)
    assert (given.npartitions, given.partition_size) == (4, None)


def test_predict_refuses_the_dask_runner_before_reading_anything(tmp_path):
    with pytest.raises(ValueError, match="cannot run on Beam's DaskRunner"):
        predict.run(["--model_dir", str(tmp_path / "none"), "--videos", str(tmp_path / "none"),
                     "--output", str(tmp_path / "run"), "--runner=DaskRunner"])


def test_stop_leaves_no_process_behind_and_a_second_start_is_refused(tmp_path):
    cluster = dask_cluster.start(str(tmp_path), workers=1)
    pids = [cluster.scheduler_pid, *cluster.worker_pids]
    try:
        assert all(os.path.exists(f"/proc/{pid}") for pid in pids)
        with pytest.raises(RuntimeError, match="still running: stop it first"):
            dask_cluster.start(str(tmp_path), workers=1)
    finally:
        dask_cluster.stop(cluster)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)
    assert not os.path.exists(tmp_path / dask_cluster.STATE_FILE)
