"""A dask.distributed cluster on loopback for Beam's DaskRunner: one scheduler and N worker
processes, each started as `dask scheduler` / `dask worker` would be on separate hosts, so
our jobs run with `--runner=DaskRunner --dask_client_address=tcp://...` exactly as they
would against a multi-host cluster (docs/runners.md has the commands for one).

    python -m beam_pipelines.dask_cluster start --workers 2   # prints the pipeline flags
    python -m beam_pipelines.ingest ... $(python -m beam_pipelines.dask_cluster flags)
    python -m beam_pipelines.dask_cluster stop

Each worker has one thread: our DoFns are CPU-bound Python and OpenCV calls, and Dask
spreads partitions over processes, as Beam's local runner spreads bundles over its
worker processes.  Workers run without a nanny (see WORKER_ENV).  `start` writes the
processes' ids, the address and the logs to `<state dir>/cluster.json`; `stop` ends
every process group.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from beam_pipelines.local_processes import (
    HOST, REPO, STATE_FILE, ExitedEarly, end_group, free_port, launch, load_state, log_tail, make_state_dir,
    remove_state, runs, save_state, with_retries, worker_env)

CACHE = os.path.join(REPO, ".cache", "dask")
# What a worker's nanny would set (one thread per numeric library, one hash seed for all
# workers), without its MALLOC_TRIM_THRESHOLD_=65536, which made decode + flow take about
# 30% more CPU by returning the frames' memory to the system after every video; and without
# Dask's sampling profiler, which interrupts the worker thread every 10 ms for the dashboard.
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "PYTHONHASHSEED": "6640", "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}


@dataclass
class Cluster:
    """What `start` launched: enough for the flags and for `stop` from another process."""

    address: str
    scheduler_pid: int
    worker_pids: list[int]
    state_dir: str

    def pipeline_flags(self) -> list[str]:
        return ["--runner=DaskRunner", f"--dask_client_address={self.address}"]


def _wait_for_workers(address: str, workers: int, processes: dict[str, subprocess.Popen],
                      logs: dict[str, str], timeout: float) -> None:
    """Block until the scheduler lists `workers` workers; fail naming a process that died."""
    from distributed import Client

    deadline = time.monotonic() + timeout
    while True:
        for name, process in processes.items():
            if process.poll() is not None:
                raise ExitedEarly(f"dask {name} exited with {process.returncode}; {logs[name]}:\n"
                                  f"{log_tail(logs[name])}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"{workers} dask workers not connected to {address} after {timeout:.0f} s; "
                               f"{logs['scheduler']}:\n{log_tail(logs['scheduler'])}")
        try:
            with Client(address, timeout=min(remaining, 5.0)) as client:
                client.wait_for_workers(workers, timeout=min(remaining, 5.0))
                return
        except (OSError, TimeoutError):
            continue


def _launch(state_dir: str, workers: int, preload: list[str], timeout: float) -> Cluster:
    port = free_port()
    address = f"tcp://{HOST}:{port}"
    env = {**worker_env(), **WORKER_ENV}
    logs = {"scheduler": os.path.join(state_dir, "scheduler.log")}
    commands = {"scheduler": [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", HOST,
                              "--port", str(port), "--no-dashboard"]}
    for i in range(workers):
        name = f"worker-{i}"
        logs[name] = os.path.join(state_dir, f"{name}.log")
        commands[name] = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--name", name,
                          "--host", HOST, "--nthreads", "1", "--memory-limit", "0", "--no-nanny", "--no-dashboard",
                          *(arg for module in preload for arg in ("--preload", module))]
    processes: dict[str, subprocess.Popen] = {}
    try:
        for name, command in commands.items():
            processes[name] = launch(command, logs[name], env)
        _wait_for_workers(address, workers, processes, logs, timeout)
    except BaseException:
        for process in processes.values():
            end_group(process.pid)
        raise
    return Cluster(address, processes.pop("scheduler").pid, [p.pid for p in processes.values()], state_dir)


def start(state_dir: str = CACHE, workers: int = 2, preload: list[str] = (), timeout: float = 60.0,
          attempts: int = 3) -> Cluster:
    """Launch the scheduler and `workers` worker processes on loopback; wait until all are connected.

    `preload` names modules every worker imports at start (`dask worker --preload`).  A port
    found free can be taken before the scheduler binds it; then we try again on a new one.
    """
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    make_state_dir(state_dir)
    with contextlib.suppress(FileNotFoundError):
        before = load(state_dir)
        if any(runs(pid, "distributed.cli") for pid in [before.scheduler_pid, *before.worker_pids]):
            raise RuntimeError(f"a cluster from {state_dir}/{STATE_FILE} is still running: stop it first")
    cluster = with_retries(lambda: _launch(state_dir, workers, list(preload), timeout), attempts)
    save_state(state_dir, asdict(cluster))
    return cluster


def stop(cluster: Cluster) -> None:
    """Workers first, so none is left retrying a scheduler that is gone."""
    for pid in [*cluster.worker_pids, cluster.scheduler_pid]:
        if runs(pid, "distributed.cli"):
            end_group(pid)
    remove_state(cluster.state_dir)


def load(state_dir: str = CACHE) -> Cluster:
    return Cluster(**load_state(state_dir, __spec__.name))


@contextlib.contextmanager
def running(state_dir: str, workers: int = 2, preload: list[str] = (), timeout: float = 60.0):
    """A started cluster for the length of a `with` block (tests, benchmarks)."""
    cluster = start(state_dir, workers, preload, timeout)
    try:
        yield cluster
    finally:
        stop(cluster)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beam_pipelines.dask_cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("start", "stop", "flags"))
    parser.add_argument("--workers", type=int, default=2, help="worker processes (start)")
    parser.add_argument("--state_dir", default=CACHE, help="where cluster.json and the logs go")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            print(" ".join(start(args.state_dir, args.workers).pipeline_flags()))
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
