"""A two-worker run on loopback that loses a worker to SIGKILL: the survivor prints one line naming
the lost worker, the step and the newest complete checkpoint and exits 75; every checkpoint a
rerun would take is complete; rerunning both workers resumes from it and ends at the same step."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import tensorflow as tf

from tests.test_train_support import QUIET_ENV, REPO, free_ports, write_records
from tfx_models import runs
from tfx_models.runs import checkpoints as checkpointing
from tfx_models.training.strategies import lost_peer

DEMO = "tfx_models/experiments/demo_spatial.py"
STEPS = 40


def start_workers(command, cluster, tmp_path, attempt):
    workers = []
    for index in range(2):
        env = {**os.environ, **QUIET_ENV,
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(command, cwd=REPO, env=env, text=True,
                                        stdout=open(tmp_path / f"{attempt}-w{index}.out", "w"),
                                        stderr=open(tmp_path / f"{attempt}-w{index}.err", "w")))
    return workers


def wait(workers, timeout):
    try:
        return [w.wait(timeout=timeout) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()


def test_survivor_names_the_lost_worker_and_a_rerun_resumes(tmp_path):
    records = write_records(str(tmp_path / "records"), "tiny", ["a", "b", "c"])
    run_dir = str(tmp_path / "run")
    ckpt_dir = runs.checkpoint_dir(run_dir)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    command = [sys.executable, "-m", "tfx_models.train", "--config", DEMO, "--run_dir", run_dir,
               "--set", f"data.records={records}", "--set", "data.crop_size=32", "--set", "model.width=0.125",
               "--set", f"train.steps={STEPS}", "--set", "train.batch_size=4", "--set", "train.checkpoint_every=2",
               "--set", "train.log_every=2", "--set", "train.strategy=multi_worker"]
    workers = start_workers(command, cluster, tmp_path, "first")
    try:
        deadline = time.monotonic() + 180
        while not os.path.exists(checkpointing.manifest_path(f"{ckpt_dir}/ckpt-4")):
            assert all(w.poll() is None for w in workers), (tmp_path / "first-w0.err").read_text()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint 4 within 180 s"
            time.sleep(0.01)
        os.kill(workers[1].pid, signal.SIGKILL)
    finally:
        codes = wait(workers, 60)
    assert codes[1] == -signal.SIGKILL
    err = (tmp_path / "first-w0.err").read_text()
    assert codes[0] == 75, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err[-3000:]
    match = re.fullmatch(rf"error: lost worker 1 \({re.escape(cluster['worker'][1])}\) at step (\d+); "
                         rf"newest complete checkpoint: {re.escape(ckpt_dir)}/ckpt-(\d+) \(step (\d+)\); "
                         r"rerun every worker with the same command to resume from it", errors[0])
    assert match, errors[0]
    lost_at, named, named_step = (int(g) for g in match.groups())
    assert named == named_step and 4 <= named <= lost_at < STEPS and lost_at - named < 2

    # Every checkpoint with a manifest is whole and holds its step; the newest is the one named.
    with_manifest = sorted(int(p.rsplit("-", 1)[-1][: -len(".manifest.json")])
                           for p in tf.io.gfile.glob(f"{ckpt_dir}/ckpt-*.manifest.json"))
    assert with_manifest and with_manifest[-1] == named
    for step in with_manifest:
        prefix = f"{ckpt_dir}/ckpt-{step}"
        assert checkpointing.verify(prefix) is None
        assert tf.train.load_checkpoint(prefix).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == step

    workers = start_workers(command, cluster, tmp_path, "rerun")
    codes = wait(workers, 240)
    out = (tmp_path / "rerun-w0.out").read_text()
    assert codes == [0, 0], (tmp_path / "rerun-w0.err").read_text()[-3000:]
    assert f"resumed from {ckpt_dir}/ckpt-{named} at step {named}" in out
    assert f"done: step {STEPS}" in out
    assert checkpointing.latest_valid_checkpoint(ckpt_dir) == f"{ckpt_dir}/ckpt-{STEPS}"


class _Resolver:
    def __init__(self, workers, me):
        self.task_type, self.task_id, self._workers = "worker", me, workers

    def cluster_spec(self):
        return tf.train.ClusterSpec({"worker": self._workers})


class _Strategy:
    def __init__(self, workers, me):
        self.cluster_resolver = _Resolver(workers, me)


def test_the_lost_peer_is_read_from_the_task_or_the_address_in_the_error():
    three = ["h0:1", "h1:2", "h2:3"]
    named_by_task = "Additional GRPC error information from remote target /job:worker/replica:0/task:2 while calling"
    assert lost_peer(_Strategy(three, 0), Exception(named_by_task)) == "worker 2 (h2:3)"
    assert lost_peer(_Strategy(three, 0), Exception("ipv4:h1:2: Failed to connect")) == "worker 1 (h1:2)"
    assert lost_peer(_Strategy(three[:2], 1), Exception("Connection reset by peer")) == "worker 0 (h0:1)"
    assert lost_peer(_Strategy(three, 1), Exception("Connection reset by peer")) == \
        "a peer (TensorFlow did not say which: Connection reset by peer)"
