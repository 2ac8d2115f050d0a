"""Background service processes on loopback for the runner helpers (Prism, Dask).

Each service runs in its own session, so stopping it ends its whole process group
(children included) by id, and a pid read back from a state file is checked against
its command line before it is signalled (ids are reused after a crash or a reboot).
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Callable, TypeVar

from beam_pipelines.storage import is_remote

HOST = "127.0.0.1"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE_FILE = "cluster.json"
T = TypeVar("T")


class ExitedEarly(RuntimeError):
    """A launched process died before serving: most often a port taken since we probed it."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def worker_env() -> dict[str, str]:
    """This interpreter first on PATH and this checkout importable: what a worker on
    another host gets by installing the same requirements and the project."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in [REPO, env.get("PYTHONPATH", "")] if p)
    return env


def launch(command: list[str], log: str, env: dict[str, str]) -> subprocess.Popen:
    """Start `command` in its own session with stdout and stderr in `log`."""
    with open(log, "w") as f:
        return subprocess.Popen(command, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                start_new_session=True)


def log_tail(log: str, chars: int = 2000) -> str:
    with open(log, errors="replace") as f:
        return f.read()[-chars:]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):  # reap it if it is our child
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    return True


def end_group(pid: int, grace: float = 10.0) -> None:
    """SIGTERM the process group led by `pid`, then SIGKILL what is left after `grace` s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.1)
        if not alive(pid):
            with contextlib.suppress(ProcessLookupError):  # stragglers in the group
                os.killpg(pid, signal.SIGKILL)
            return


def runs(pid: int, word: str) -> bool:
    """The pid still runs what we started: its command line contains `word`."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return word.encode() in f.read()
    except OSError:
        return False


def with_retries(launch: Callable[[], T], attempts: int) -> T:
    """`launch()`, again while it fails with ExitedEarly: a port found free can be taken by
    someone else before our process binds it; a new try probes new ports."""
    for attempt in range(attempts):
        try:
            return launch()
        except ExitedEarly:
            if attempt == attempts - 1:
                raise
    raise ValueError(f"attempts must be >= 1, got {attempts}")


def make_state_dir(state_dir: str) -> None:
    """A local cluster's processes, logs and state live on the launching machine, so its state
    folder must be local: an object-store path is refused rather than made into a local folder."""
    if is_remote(state_dir):
        raise ValueError(f"--state_dir {state_dir}: a local cluster keeps its logs and state on this "
                         "machine; give a local folder")
    os.makedirs(state_dir, exist_ok=True)


def save_state(state_dir: str, state: dict) -> None:
    with open(os.path.join(state_dir, STATE_FILE), "w") as f:
        json.dump(state, f, indent=2)


def load_state(state_dir: str, module: str) -> dict:
    """What `save_state` wrote, or FileNotFoundError saying how to start `module`'s cluster."""
    path = os.path.join(state_dir, STATE_FILE)
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no cluster started (run `python -m {module} start`)") from None


def remove_state(state_dir: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(state_dir, STATE_FILE))
