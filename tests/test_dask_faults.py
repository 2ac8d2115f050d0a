"""The ingest on a Dask cluster that loses processes mid-job (SIGKILL, on loopback): a lost worker
is Dask's to recover, and the output is byte-identical; a lost scheduler, or every worker lost,
ends the job in one `error:` line, and nothing is published."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("distributed", reason="dask is not installed (pip install -r requirements.txt)")

from beam_pipelines import dask_cluster  # noqa: E402
from beam_pipelines.synth import generate  # noqa: E402

DELAY_S = "0.4"  # each video waits this long first (tests/dask_call_counter.py): the job outlasts the kill


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    generate(str(out), seed=0, profile="tiny")
    return str(out / "ucf101")


def ingest(root: str, output, flags: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "beam_pipelines.ingest", "--format", "ucf101", "--root", root,
                           "--output", str(output), "--size", "0", "--flow", "dis_fast", "--num_shards", "2", *flags],
                          capture_output=True, text=True, timeout=400)


@pytest.fixture(scope="module")
def local(benchmark, tmp_path_factory):
    output = tmp_path_factory.mktemp("local")
    result = ingest(benchmark, output, ["--direct_running_mode=in_memory"])
    assert result.returncode == 0, result.stderr[-2000:]
    return output


def run_killing(benchmark, output, tmp_path, victims, monkeypatch) -> subprocess.CompletedProcess:
    """Ingest on a two-worker cluster; SIGKILL `victims(cluster)` once four videos have started."""
    calls = tmp_path / "calls.log"
    calls.write_text("")
    monkeypatch.setenv("INGEST_CALLS_LOG", str(calls))
    monkeypatch.setenv("INGEST_CALL_DELAY", DELAY_S)
    monkeypatch.setenv("TWOSTREAM_DASK_NO_WORKERS_S", "4")
    with dask_cluster.running(str(tmp_path / "dask"), workers=2, preload=["tests.dask_call_counter"]) as cluster:
        def kill():
            deadline = time.monotonic() + 120
            while len(calls.read_text().splitlines()) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            for pid in victims(cluster):
                os.kill(pid, signal.SIGKILL)
        killer = threading.Thread(target=kill)
        killer.start()
        result = ingest(benchmark, output, cluster.pipeline_flags())
        killer.join()
    return result


def same_outputs(ours, theirs) -> None:
    names = sorted(os.listdir(theirs))
    assert sorted(os.listdir(ours)) == names
    for name in names:
        if name != "summary.json":
            assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name


def test_a_worker_killed_mid_ingest_leaves_byte_identical_output(benchmark, local, tmp_path, monkeypatch):
    result = run_killing(benchmark, tmp_path / "out", tmp_path, lambda c: c.worker_pids[:1], monkeypatch)
    assert result.returncode == 0, result.stderr[-3000:]
    same_outputs(tmp_path / "out", local)


@pytest.mark.parametrize("lost,words", [
    ("scheduler", "lost the Dask scheduler tcp://127.0.0.1:"),
    ("workers", "has had no worker for 4 s mid-job: every worker was lost"),
])
def test_a_lost_scheduler_or_every_worker_fails_in_one_line_and_publishes_nothing(
        benchmark, tmp_path, monkeypatch, lost, words):
    victims = (lambda c: [c.scheduler_pid]) if lost == "scheduler" else (lambda c: c.worker_pids)
    result = run_killing(benchmark, tmp_path / "out", tmp_path, victims, monkeypatch)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr[-3000:]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert lines[0].startswith("error: the job failed: ") and words in lines[0], lines[0]
    assert "nothing was published" in lines[0]
    assert not (tmp_path / "out" / "dataset_info.json").exists()
