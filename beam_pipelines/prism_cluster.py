"""Beam's portable runner on loopback: the Prism job server and a Python SDK worker pool,
each in its own process, so our jobs run through the Runner API and the Fn API exactly
as they would on Flink, Spark or Dataflow (the pipeline proto, artifact staging, gRPC
control and data channels, SDK harness in another process), not in-process.

Why Prism and not Flink: Beam's Flink runner needs the job server jar
`org.apache.beam:beam-runners-flink-<flink>-job-server`, and the Maven Central served
to these machines refuses Beam's Flink and Spark runner artifacts at every version
(docs/runners.md).  Prism is Beam's own portable runner, written in Go; `make prism` builds it
with `go install` from the Go module proxy at our Beam version.

    make prism                                         # .cache/prism/prism-<beam version>
    python -m beam_pipelines.prism_cluster start       # prints the pipeline flags
    python -m beam_pipelines.ingest ... $(python -m beam_pipelines.prism_cluster flags)
    python -m beam_pipelines.prism_cluster stop

`start` writes the processes' ids, ports and logs to `<state dir>/cluster.json`; `stop`
ends both process groups (the pool's SDK worker processes with it).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import grpc
from apache_beam.version import __version__ as BEAM_VERSION

from beam_pipelines.local_processes import (
    HOST, REPO, STATE_FILE, ExitedEarly, end_group, free_port, launch, load_state, log_tail, make_state_dir,
    remove_state, runs, save_state, with_retries, worker_env)

CACHE = os.path.join(REPO, ".cache", "prism")
DEFAULT_BINARY = os.path.join(CACHE, f"prism-{BEAM_VERSION}")


@dataclass
class Cluster:
    """What `start` launched: enough for the flags and for `stop` from another process."""

    job_port: int
    pool_port: int
    prism_pid: int
    pool_pid: int
    state_dir: str

    def pipeline_flags(self) -> list[str]:
        return ["--runner=PortableRunner", f"--job_endpoint={HOST}:{self.job_port}",
                "--environment_type=EXTERNAL", f"--environment_config={HOST}:{self.pool_port}"]

    def workers_started(self) -> int:
        """SDK worker processes the pool has started: proof the work left the submitting process."""
        with open(os.path.join(self.state_dir, "pool.log"), errors="replace") as f:
            return sum("Starting worker with command" in line for line in f)


def binary_path() -> str:
    return os.environ.get("PRISM_BINARY", DEFAULT_BINARY)


def _wait_ready(name: str, process: subprocess.Popen, port: int, log: str, timeout: float) -> None:
    """Block until the process serves gRPC on `port`; fail naming it and quoting its log."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"{HOST}:{port}") as channel:
        ready = grpc.channel_ready_future(channel)
        try:
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    ready.result(timeout=0.5)
                    return
                except grpc.FutureTimeoutError:
                    continue
        finally:
            ready.cancel()  # stop its polling thread before the channel closes
    tail = log_tail(log)
    if process.poll() is not None:
        raise ExitedEarly(f"{name} on port {port} exited with {process.returncode}; {log}:\n{tail}")
    raise RuntimeError(f"{name} on port {port} not ready after {timeout:.0f} s; {log}:\n{tail}")


def start(state_dir: str = CACHE, binary: str | None = None, timeout: float = 60.0, attempts: int = 3) -> Cluster:
    """Launch the job server and the worker pool on free loopback ports and wait for both.

    A port found free can be taken by someone else before our process binds it; then that
    process exits and we try again on new ports.
    """
    make_state_dir(state_dir)
    binary = binary or binary_path()
    if not os.access(binary, os.X_OK):
        raise FileNotFoundError(f"{binary}: no Prism binary for Beam {BEAM_VERSION}; build it with `make prism`")
    with contextlib.suppress(FileNotFoundError):
        running_before = load(state_dir)
        if runs(running_before.prism_pid, "prism") or runs(running_before.pool_pid, "worker_pool_main"):
            raise RuntimeError(f"a cluster from {state_dir}/{STATE_FILE} is still running: stop it first")
    cluster = with_retries(lambda: _launch(state_dir, binary, timeout), attempts)
    save_state(state_dir, asdict(cluster))
    return cluster


def _launch(state_dir: str, binary: str, timeout: float) -> Cluster:
    job_port, pool_port = free_port(), free_port()
    while pool_port == job_port:
        pool_port = free_port()
    # The pool starts each SDK worker as a bare `python`: it must be this interpreter, and
    # the workers must import this checkout's packages.
    env = worker_env()
    logs = {name: os.path.join(state_dir, f"{name}.log") for name in ("prism", "pool")}
    commands = {
        "prism": [binary, f"--job_port={job_port}", "--serve_http=false", "--log_level=warn"],
        "pool": [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main",
                 f"--service_port={pool_port}"],
    }
    processes: dict[str, subprocess.Popen] = {}
    try:
        for name, command in commands.items():
            processes[name] = launch(command, logs[name], env)
        _wait_ready("prism job server", processes["prism"], job_port, logs["prism"], timeout)
        _wait_ready("python worker pool", processes["pool"], pool_port, logs["pool"], timeout)
    except BaseException:
        for process in processes.values():
            end_group(process.pid)
        raise
    return Cluster(job_port, pool_port, processes["prism"].pid, processes["pool"].pid, state_dir)


def stop(cluster: Cluster) -> None:
    for pid, word in ((cluster.pool_pid, "worker_pool_main"), (cluster.prism_pid, "prism")):
        if runs(pid, word):
            end_group(pid)
    remove_state(cluster.state_dir)


def load(state_dir: str = CACHE) -> Cluster:
    return Cluster(**load_state(state_dir, __spec__.name))


@contextlib.contextmanager
def running(state_dir: str, timeout: float = 60.0):
    """A started cluster for the length of a `with` block (tests, benchmarks)."""
    cluster = start(state_dir, timeout=timeout)
    try:
        yield cluster
    finally:
        stop(cluster)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beam_pipelines.prism_cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("start", "stop", "flags"))
    parser.add_argument("--state_dir", default=CACHE, help="where cluster.json and the logs go")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            cluster = start(args.state_dir)
            print(" ".join(cluster.pipeline_flags()))
        elif args.command == "flags":
            print(" ".join(load(args.state_dir).pipeline_flags()))
        else:
            stop(load(args.state_dir))
    except (FileNotFoundError, RuntimeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
