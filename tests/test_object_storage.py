"""The Beam jobs on gs:// against fake-gcs-server on loopback (tests/gcs_emulator.py): ingest on the
local runner and on a Dask cluster, re-split and batch prediction read and write the bucket and
give what a local-disk run gives, byte for byte; bad paths fail with one line.

Records hold their video's path, so the local run reads its videos from /tmp/<bucket>/... and
the bucket run from gs://<bucket>/...: both prefixes are five characters, so a record's bytes
are the same once the one is put for the other, and so is every length in the file.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import google_crc32c
import pytest

from beam_pipelines import dask_cluster, predict, resplit
from beam_pipelines.datasets import load_class_names, load_entries
from beam_pipelines.ingest import run_ingest
from beam_pipelines.ingest_transforms import IngestConfig
from beam_pipelines.options import pipeline_options
from beam_pipelines.synth import generate
from beam_pipelines.synth.__main__ import main as synth_main
from media.tfrecord import read_records
from tests.gcs_emulator import emulator  # noqa: F401 (a fixture)
from tests.test_ingest import IN_MEMORY, entry
from tests.test_prism_runner import RUN_FIELDS
from tests.test_serving_fixtures import preprocessing, stream_model
from tfx_models.export.saved_model import export_model

LOCAL_WORKERS = ["--direct_num_workers=2"]  # separate worker processes, each with its own GCS client
CONFIG = IngestConfig(flow="dis_fast", size=0, num_shards=2)


@pytest.fixture(scope="module")
def bucket(emulator):
    """gs://<name> with the tiny benchmark and bad inputs in it, and the same files in /tmp/<name>."""
    name = f"ts{uuid.uuid4().hex[:10]}"
    local = f"/tmp/{name}"
    generate(f"{local}/synth", seed=0, profile="tiny")
    bad = f"{local}/bad"
    os.makedirs(bad)
    open(f"{bad}/empty.avi", "wb").close()
    with open(f"{bad}/notes.avi", "w") as f:
        f.write("not a video\n" * 10)
    url = emulator.make_bucket(name)
    emulator.upload_tree(local, url)
    yield {"name": name, "local": local, "url": url}
    shutil.rmtree(local, ignore_errors=True)


def swap(data: bytes, bucket) -> bytes:
    """A local run's bytes as the bucket run would write them."""
    return data.replace(bucket["local"].encode(), bucket["url"].encode())


def local_tree(folder: str) -> dict[str, bytes]:
    return {os.path.relpath(os.path.join(root, name), folder): open(os.path.join(root, name), "rb").read()
            for root, _, names in os.walk(folder) for name in names}


def records_of(data: bytes) -> list[bytes]:
    import io

    return [record for _, record in read_records(io.BytesIO(data))]


def assert_same_outputs(local: dict[str, bytes], remote: dict[str, bytes], bucket) -> None:
    """Byte for byte once the prefix is swapped; the summary without its run facts; each
    shard's CRC32C in dataset_info.json is that of the bytes in the bucket."""
    assert sorted(remote) == sorted(local)
    for name, data in local.items():
        if name.endswith(".tfrecord"):
            assert len(remote[name]) == len(data), name
            assert records_of(remote[name]) == [swap(r, bucket) for r in records_of(data)], name
        elif name == "dataset_info.json":
            ours, theirs = json.loads(remote[name]), json.loads(swap(data, bucket))
            for shard, entry_ in ours["shards"].items():
                assert entry_.pop("crc32c") == f"{google_crc32c.value(remote[shard]):08x}", shard
                theirs["shards"][shard].pop("crc32c")
            assert ours == theirs
        elif name == "summary.json":
            drop = RUN_FIELDS
            ours, theirs = json.loads(remote[name]), json.loads(swap(data, bucket))
            assert {k: v for k, v in ours.items() if k not in drop} == {k: v for k, v in theirs.items() if k not in drop}
        else:
            assert remote[name] == swap(data, bucket), name


def entries(root: str) -> list:
    good = load_entries("ucf101", split=1, root=f"{root}/synth/ucf101")
    return good + [entry(f"{root}/bad/empty.avi"), entry(f"{root}/bad/notes.avi", subset="test"),
                   entry(f"{root}/bad/missing.avi", subset="test")]


def ingest(root: str, output: str, flags: list[str]) -> dict:
    classes = load_class_names("ucf101", root=f"{root}/synth/ucf101")
    return run_ingest(entries(root), output, CONFIG, pipeline_options(flags), dataset="ucf101",
                      data_format="ucf101", split=1, classes=classes)


@pytest.fixture(scope="module")
def local_run(bucket):
    summary = ingest(bucket["local"], f"{bucket['local']}/out", IN_MEMORY)
    return summary, local_tree(f"{bucket['local']}/out")


def test_ingest_reads_and_writes_gs_and_matches_a_local_disk_run(emulator, bucket, local_run):
    local_summary, local = local_run
    assert (local_summary["inputs"], local_summary["written"], local_summary["dead_lettered"]) == (33, 30, 3)
    summary = ingest(bucket["url"], f"{bucket['url']}/out", LOCAL_WORKERS)
    assert summary["output"] == f"{bucket['url']}/out"
    remote = emulator.download_tree(f"{bucket['url']}/out")
    assert sum(name.endswith(".tfrecord") for name in remote) == 4
    assert_same_outputs(local, remote, bucket)


def test_ingest_on_a_dask_cluster_reads_and_writes_gs_alike(emulator, bucket, local_run, tmp_path):
    with dask_cluster.running(str(tmp_path), workers=2) as cluster:
        ingest(bucket["url"], f"{bucket['url']}/dask", cluster.pipeline_flags())
    assert_same_outputs(local_run[1], emulator.download_tree(f"{bucket['url']}/dask"), bucket)


def test_a_rerun_over_gs_replaces_an_older_set_and_its_stale_shards(emulator, bucket, local_run):
    output = f"{bucket['url']}/again"
    ingest(bucket["url"], output, ["--direct_running_mode=in_memory"])
    emulator.client().bucket(bucket["name"]).blob("again/train-00002-of-00003.tfrecord").upload_from_string(b"old")
    ingest(bucket["url"], output, ["--direct_running_mode=in_memory"])
    assert_same_outputs(local_run[1], emulator.download_tree(output), bucket)


def test_resplit_reads_gs_records_and_writes_gs(emulator, bucket, local_run):
    common = ["--format", "ucf101", "--split", "2", "--direct_running_mode=in_memory"]
    resplit.run(["--records", f"{bucket['local']}/out", "--root", f"{bucket['local']}/synth/ucf101",
                 "--output", f"{bucket['local']}/split2", *common])
    resplit.run(["--records", f"{bucket['url']}/out", "--root", f"{bucket['url']}/synth/ucf101",
                 "--output", f"{bucket['url']}/split2", *common])
    assert_same_outputs(local_tree(f"{bucket['local']}/split2"), emulator.download_tree(f"{bucket['url']}/split2"),
                        bucket)


def test_batch_prediction_reads_videos_from_gs_and_writes_there(emulator, bucket, tmp_path):
    export_model(stream_model("temporal", seed=2), preprocessing(), str(tmp_path / "models"), "temporal")
    flags = ["--model_dir", str(tmp_path / "models" / "temporal"), "--num_frames", "2", "--crops", "1",
             "--direct_running_mode=in_memory"]
    local = predict.run(["--videos", f"{bucket['local']}/bad", "--output", f"{bucket['local']}/pred/run", *flags])
    remote = predict.run(["--videos", f"{bucket['url']}/bad", "--output", f"{bucket['url']}/pred/run", *flags])
    assert (remote["inputs"], remote["dead_letter"]) == (local["inputs"], local["dead_letter"]) == (2, 2)
    got = emulator.download_tree(f"{bucket['url']}/pred")
    assert sorted(got) == ["run-dead_letter-00000-of-00001.jsonl", "run-predictions-00000-of-00001.jsonl",
                           "run-summary.json"]
    for name, data in got.items():
        if name != "run-summary.json":
            assert data == swap(open(f"{bucket['local']}/pred/{name}", "rb").read(), bucket), name


def normalised(name: str, data: bytes) -> bytes:
    """A render's JSON without its timings and the paths it was written to."""
    if name not in ("benchmark.json", "pretrain/pretrain.json"):
        return data
    info = json.loads(data)
    info["timing"] = None
    info.pop("manifest", None)
    for dataset in info.get("datasets", {}).values():
        dataset["root"] = None
    return json.dumps(info, sort_keys=True).encode()


def test_the_benchmark_and_pretraining_set_render_into_a_bucket_as_onto_disk(emulator, bucket, capsys):
    """The renderer writes through Beam's FileSystems, from its spawned workers too: a render into
    the bucket holds the files of a render onto disk, byte for byte, and nothing else."""
    url = f"{bucket['url']}/rendered"
    pretrain = ["--profile", "tiny", "--pretrain", "2", "--pretrain_clips", "4"]
    assert synth_main(["--out", url, "--seed", "0", "--profile", "tiny"]) == 0
    assert synth_main(["--out", url, *pretrain]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["manifest"] == f"{url}/pretrain/pretrain.csv"
    assert synth_main(["--out", f"{bucket['local']}/synth", *pretrain]) == 0
    local, remote = local_tree(f"{bucket['local']}/synth"), emulator.download_tree(url)
    assert sorted(remote) == sorted(local) and len(remote) > 60
    assert json.loads(remote["benchmark.json"])["datasets"]["ucf101"]["root"] == f"{url}/ucf101"
    for name, data in local.items():
        assert normalised(name, remote[name]) == normalised(name, data), name


def test_rendering_into_a_bucket_that_does_not_exist_fails_with_one_line(emulator, capsys):
    assert synth_main(["--out", "gs://no-such-bucket-here/synth", "--profile", "tiny"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: gs://no-such-bucket-here/synth: cannot write"), lines


def run_cli(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("root,words", [
    ("gs://no-such-bucket-here/ucf101", "gs://no-such-bucket-here/ucf101/ucfTrainTestlist/classInd.txt"),
    ("{url}/not-there", "/not-there/ucfTrainTestlist/classInd.txt: file does not exist"),
    ("gz://{name}/synth/ucf101", "gz://"),
])
def test_bad_paths_fail_with_one_line(emulator, bucket, root, words, tmp_path):
    result = run_cli("beam_pipelines.ingest", "--format", "ucf101", "--root", root.format(**bucket),
                     "--output", str(tmp_path / "out"))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr[-2000:]
    assert words.format(**bucket) in lines[0]


def test_an_output_bucket_that_does_not_exist_fails_with_one_line_and_publishes_nothing(emulator, bucket):
    result = run_cli("beam_pipelines.ingest", "--format", "ucf101", "--root", f"{bucket['url']}/synth/ucf101",
                     "--output", "gs://no-such-bucket-here/out", "--limit", "2")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert lines[-1].startswith("error: ") and "gs://no-such-bucket-here" in lines[-1], lines


def test_a_record_is_pictured_from_gs_into_gs(emulator, bucket, local_run):
    from beam_pipelines import visualize

    ingest(bucket["url"], f"{bucket['url']}/pictured", ["--direct_running_mode=in_memory"])
    visualize.run(["--records", f"{bucket['url']}/pictured", "--out", f"{bucket['url']}/pictures/rec.png"])
    assert emulator.download_tree(f"{bucket['url']}/pictures")["rec.png"][:8] == b"\x89PNG\r\n\x1a\n"
